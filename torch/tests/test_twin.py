"""Tests of the PyTorch twin, its converters, safetensors files, the data split and bench/torch/step.py.

Run: PYTHONPATH=torch /usr/bin/python3 -m unittest discover -s torch/tests. `make test` runs them
through torchimport/unittest_test.go (`make torch` installs Debian's PyTorch first). The parity with
papscope's Go network is tested from Go (torchimport/parity_test.go), and the two-process torchrun
by cmd/papscope/import_test.go.
"""

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "torch"))

from papscope_torch import convert, data, safetensors_io  # noqa: E402
from papscope_torch.model import KerasBatchNorm2d, PapscopeNet, count_params  # noqa: E402

torch.set_num_threads(2)


class TwinTest(unittest.TestCase):
    def test_parameter_counts_as_keras(self):
        self.assertEqual(count_params(PapscopeNet()), {"total": 402756, "trainable": 398532, "non_trainable": 4224})

    def test_shapes_at_299_follow_keras_padding(self):
        m = PapscopeNet().eval()
        x = torch.rand(1, 3, 299, 299)
        with torch.no_grad():
            c1 = m.conv1(x)
            self.assertEqual(tuple(c1.shape), (1, 64, 149, 149))  # 3x3/2 valid
            s1 = m.sep1(c1)
            self.assertEqual(tuple(s1.shape), (1, 128, 149, 149))  # 'same': one pixel on each side
            self.assertEqual(tuple(m.pool(s1).shape), (1, 128, 74, 74))  # 3x3/2 valid
            self.assertEqual(tuple(m.features(x).shape), (1, 256, 74, 74))
            self.assertEqual(tuple(m(x).shape), (1, 4))

    def test_separable_same_padding_is_symmetric(self):
        # Keras 'same' at stride 1 with a 3x3 kernel pads 1 on every side: a centred impulse gives a centred response.
        m = PapscopeNet().sep1
        with torch.no_grad():
            m.depthwise.weight.fill_(1)
            m.pointwise.weight.fill_(1)
            m.pointwise.bias.zero_()
            x = torch.zeros(1, 64, 5, 5)
            x[0, 0, 0, 0] = 1
            y = m(x)[0, 0]
        want = torch.zeros(5, 5)
        want[:2, :2] = 1
        self.assertTrue(torch.equal(y, want), y)

    def test_batchnorm_is_keras(self):
        bn = KerasBatchNorm2d(3)
        self.assertEqual((bn.eps, bn.momentum), (1e-3, 0.01))
        g = torch.Generator().manual_seed(1)
        x = torch.randn(4, 3, 5, 5, generator=g) * 3 + 1
        bn.train()
        y = bn(x)
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        want = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + 1e-3)
        self.assertLess((y - want).abs().max().item(), 1e-5)
        # Keras: moving = 0.99 * moving + 0.01 * batch, with the biased variance.
        self.assertLess((bn.running_mean - 0.01 * mean).abs().max().item(), 1e-6)
        self.assertLess((bn.running_var - (0.99 + 0.01 * var)).abs().max().item(), 1e-6)
        bn.eval()
        z = bn(x)
        want = (x - bn.running_mean[None, :, None, None]) / torch.sqrt(bn.running_var[None, :, None, None] + 1e-3)
        self.assertLess((z - want).abs().max().item(), 1e-5)

    def test_init_is_keras_glorot(self):
        m = PapscopeNet()
        # Keras depthwise [3,3,64,1]: fan_in 576, fan_out 9 -> limit sqrt(6/585).
        limit = (6 / 585) ** 0.5
        w = m.sep1.depthwise.weight
        self.assertLessEqual(w.abs().max().item(), limit)
        self.assertGreater(w.abs().max().item(), 0.9 * limit)
        self.assertEqual(m.fc1.bias.abs().max().item(), 0)


class ConvertTest(unittest.TestCase):
    def test_round_trip_and_layouts(self):
        m = PapscopeNet()
        with torch.no_grad():
            for b in m.buffers():
                if b.is_floating_point():
                    b.uniform_(0.5, 1.5)
        sd = m.state_dict()
        k = convert.to_papscope(sd)
        self.assertEqual(len(k), 128)
        self.assertEqual(sum(v.numel() for v in k.values()), 402756)
        self.assertEqual(tuple(k["conv2d/kernel"].shape), (3, 3, 3, 64))
        self.assertEqual(tuple(k["separable_conv2d_3/depthwise_kernel"].shape), (3, 3, 128, 1))
        self.assertEqual(tuple(k["separable_conv2d_17/pointwise_kernel"].shape), (1, 1, 128, 256))
        self.assertEqual(tuple(k["dense_1/kernel"].shape), (256, 4))
        # Keras [kh, kw, in, out] at (1, 2, 0, 5) is PyTorch [out, in, kh, kw] at (5, 0, 1, 2).
        self.assertEqual(k["conv2d/kernel"][1, 2, 0, 5].item(), sd["conv1.weight"][5, 0, 1, 2].item())
        self.assertEqual(k["separable_conv2d/depthwise_kernel"][2, 0, 7, 0].item(), sd["sep1.depthwise.weight"][7, 0, 2, 0].item())
        self.assertEqual(k["dense/kernel"][3, 9].item(), sd["fc1.weight"][9, 3].item())
        self.assertEqual(k["batch_normalization_16/moving_variance"][5].item(), sd["blocks.7.bn_b.running_var"][5].item())
        back = convert.from_papscope(k)
        for name, v in sd.items():
            if not name.endswith("num_batches_tracked"):
                self.assertTrue(torch.equal(back[name], v), name)
        ddp = {"module." + n: v for n, v in sd.items()}
        self.assertEqual(set(convert.to_papscope(ddp)), set(k))

    def test_refuses_other_architectures_naming_the_layer(self):
        base = PapscopeNet().state_dict()
        cases = {
            "fc1": lambda sd: sd.update({"fc1.weight": torch.zeros(128, 256)}),
            "blocks.7.bn_b": lambda sd: sd.pop("blocks.7.bn_b.running_var"),
            "blocks.8.sep_a": lambda sd: sd.update({"blocks.8.sep_a.depthwise.weight": torch.zeros(128, 1, 3, 3)}),
        }
        for layer, change in cases.items():
            sd = dict(base)
            change(sd)
            with self.assertRaises(ValueError) as cm:
                convert.to_papscope(sd)
            self.assertIn(layer, str(cm.exception))

    def test_torch_to_keras_tensor_keeps_float64_when_asked(self):
        t = torch.tensor([[1 + 2**-40, 2.0]], dtype=torch.float64)
        self.assertEqual(convert.torch_to_keras_tensor(t, None).dtype, torch.float32)
        got = convert.torch_to_keras_tensor(t, (1, 0), dtype=torch.float64)
        self.assertEqual((got.dtype, tuple(got.shape), got[0, 0].item()), (torch.float64, (2, 1), 1 + 2**-40))

    def test_papscope_file_round_trip(self):
        m = PapscopeNet()
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "w.safetensors")
            convert.save_papscope(p, m, convert.papscope_metadata((64, 80), source="test"))
            sd, md = convert.load_papscope(p)
            self.assertEqual(convert.check_papscope_metadata(md), (64, 80))
            m2 = PapscopeNet()
            m2.load_state_dict(sd, strict=True)
            for (n, a), (_, b) in zip(m.state_dict().items(), m2.state_dict().items()):
                if not n.endswith("num_batches_tracked"):
                    self.assertTrue(torch.equal(a, b), n)


class SafetensorsTest(unittest.TestCase):
    def test_round_trip(self):
        t = {
            "a": torch.arange(6, dtype=torch.float32).reshape(2, 3),
            "b": torch.tensor(7, dtype=torch.int64),
            "c": torch.tensor([1.5, -2.25], dtype=torch.bfloat16),
            "e": torch.zeros(0, 3),
        }
        data = safetensors_io.encode(t, {"k": "v"})
        self.assertEqual(int.from_bytes(data[:8], "little") % 8, 0)
        got, md = safetensors_io.decode(data)
        self.assertEqual(md, {"k": "v"})
        for k, v in t.items():
            self.assertEqual(got[k].dtype, v.dtype, k)
            self.assertTrue(torch.equal(got[k], v), k)

    def test_rejects_bad_files(self):
        good = safetensors_io.encode({"a": torch.zeros(2)})
        n = int.from_bytes(good[:8], "little")
        header = json.loads(good[8 : 8 + n])
        bad_offsets = json.dumps({"a": dict(header["a"], data_offsets=[0, 4])}).encode()
        cases = {
            "short": good[:5],
            "trailing bytes": good + b"\0\0\0\0",
            "size mismatch": len(bad_offsets).to_bytes(8, "little") + bad_offsets + b"\0" * 8,
            "header too long": (10**9).to_bytes(8, "little") + good[8:],
        }
        for name, data in cases.items():
            with self.assertRaises(ValueError, msg=name):
                safetensors_io.decode(data)


class DataTest(unittest.TestCase):
    def test_split_keeps_slides_whole(self):
        items, groups = [], []
        for c, n_slides in enumerate((10, 4, 43, 4)):
            for s in range(n_slides):
                for k in range(3):
                    items.append((f"{c}/{s}_{k}.jpg", c))
                    groups.append(f"c{c}_s{s}")
        tr, va, te = data.split_by_group(items, groups, (0.7, 0.15, 0.15), seed=3)
        self.assertEqual(sorted(tr + va + te), list(range(len(items))))
        where = {}
        for name, idx in (("train", tr), ("val", va), ("test", te)):
            for i in idx:
                self.assertIn(where.setdefault(groups[i], name), (name,), f"slide {groups[i]} in two splits")
        for split in (va, te):
            self.assertEqual({items[i][1] for i in split}, {0, 1, 2, 3}, "every class in validation and test")
        self.assertEqual(data.split_by_group(items, groups, (0.7, 0.15, 0.15), seed=3), (tr, va, te))

    def test_class_weights(self):
        self.assertEqual(data.class_weights([0, 1, 2, 3]), [1.0, 1.0, 1.0, 1.0])
        w = data.class_weights([0, 0, 0, 1])
        self.assertAlmostEqual(w[0] * 3, w[1])
        self.assertEqual(w[2], 0)
        self.assertAlmostEqual((w[0] + w[1]) / 2, 1)


    def test_crop_keeps_the_centre(self):
        from PIL import Image

        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "f.png")
            im = Image.new("RGB", (8, 6), (0, 0, 0))
            im.paste((255, 128, 0), (2, 2, 6, 5))  # columns 2-5, rows 2-4
            im.save(p)
            # The centre half of 8x6 is columns 2-5 and rows 1-3 (3 rows, offset (6-3)//2 = 1), at its own size: copied.
            x = data.load_image(p, (3, 4), crop=0.5)
            self.assertEqual(data.crop_box(8, 6, 0.5), (2, 1, 6, 4))
            self.assertEqual(tuple(x.shape), (3, 3, 4))
            self.assertTrue(torch.equal(x[:, 1:, :], torch.tensor([1.0, 128 / 255, 0.0]).view(3, 1, 1).expand(3, 2, 4)))
            self.assertTrue(torch.equal(x[:, 0, :], torch.zeros(3, 4)), "row 1 of the image is outside the box")
            with self.assertRaises(ValueError):
                data.load_image(p, (3, 4), crop=1.5)


class TrainScriptTest(unittest.TestCase):
    def test_defaults_are_papscope_trains_shortcut_treatment(self):
        sys.path.insert(0, os.path.join(ROOT, "torch"))
        import train

        args = train.parse_args(["--data", "d", "--out", "o"])
        self.assertEqual((args.jpeg_quality, args.crop), (75, 0.5))  # shortcut.Default in Go
        for bad in (["--crop", "1.5"], ["--jpeg-quality", "101"]):
            with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
                train.parse_args(["--data", "d", "--out", "o"] + bad)

    def test_metadata_records_the_crop(self):
        md = convert.papscope_metadata((64, 64), crop=0.5)
        self.assertEqual(md["crop"], "0.5")
        self.assertIn("centre crop keeping 0.5 of each side", md["preprocessing"])
        for crop in (0, 1):
            md = convert.papscope_metadata((64, 64), crop=crop)
            self.assertNotIn("crop", md)
            self.assertEqual(md["preprocessing"], convert.PREPROCESSING)


class StepScriptTest(unittest.TestCase):
    def test_step_writes_every_gradient_and_one_json_line(self):
        # A seeded initialisation: float32's distance from float64 varies with the weights, and an
        # unseeded one now and then let a small bias gradient's exceed the bound below.
        torch.manual_seed(1)
        m = PapscopeNet()
        with tempfile.TemporaryDirectory() as d:
            wp, bp, gp, g64p = (os.path.join(d, f) for f in ("w.safetensors", "b.safetensors", "g.safetensors", "g64.safetensors"))
            convert.save_papscope(wp, m, convert.papscope_metadata((32, 32)))
            g = torch.Generator().manual_seed(2)
            safetensors_io.save(bp, {"images": torch.rand(2, 32, 32, 3, generator=g), "labels": torch.tensor([1.0, 3.0]),
                                     "class_weights": torch.tensor([1.0, 2.0, 1.0, 0.5])})
            out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "torch", "step.py"), "--weights", wp, "--batch", bp,
                                  "--threads", "1", "--steps", "1", "--grads", gp, "--grads64", g64p], capture_output=True, text=True)
            self.assertEqual(out.returncode, 0, out.stderr)
            lines = out.stdout.strip().splitlines()
            self.assertEqual(len(lines), 1, out.stdout)
            res = json.loads(lines[0])
            self.assertEqual(set(res), {"images_per_s", "seconds_per_step", "threads", "batch", "input", "torch", "memory_format"})
            self.assertEqual((res["threads"], res["batch"], res["input"]), (1, 2, [32, 32]))
            grads, md = safetensors_io.load(gp)
            want = {k: tuple(v.shape) for k, v in convert.to_papscope(m.state_dict()).items() if not k.endswith(("moving_mean", "moving_variance"))}
            self.assertEqual(len(want), 128 - 34)
            self.assertEqual({k: tuple(v.shape) for k, v in grads.items()}, want)
            loss = float(md["loss"])
            # The loss step.py reports is papscope's: sum_i w[y_i] * CE_i / N, from a model in training mode.
            m.train()
            x = safetensors_io.load(bp)[0]["images"].permute(0, 3, 1, 2)
            ce = torch.nn.functional.cross_entropy(m(x), torch.tensor([1, 3]), reduction="none")
            self.assertAlmostEqual(loss, ((2.0 * ce[0] + 0.5 * ce[1]) / 2).item(), places=5)
            self.assertGreater(sum(v.abs().sum().item() for v in grads.values()), 0)
            # --grads64: the same gradients computed in float64, for the exact comparison on the Go side.
            grads64, md64 = safetensors_io.load(g64p)
            self.assertEqual({k: tuple(v.shape) for k, v in grads64.items()}, want)
            self.assertAlmostEqual(float(md64["loss"]), loss, places=5)
            # float32 rounding alone moves this network's gradients by up to several per cent
            # (measured by make bench-train: 4e-2 to 8e-2 of a tensor's largest value).
            for k, v in grads64.items():
                self.assertEqual(v.dtype, torch.float64, k)
                scale = v.abs().max().item()
                self.assertLessEqual((grads[k].double() - v).abs().max().item(), 0.15 * scale + 1e-6, k)


if __name__ == "__main__":
    unittest.main()
