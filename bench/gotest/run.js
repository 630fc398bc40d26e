// Runs test.wasm with the arguments in ?args= (a JSON array) and reports its
// exit code on the console as "gotest: exit N" for the driver to read.
(async () => {
  const args = JSON.parse(new URLSearchParams(location.search).get("args") || "[]");
  const go = new Go();
  go.argv = ["test.wasm", ...args];
  let code = 0;
  go.exit = (c) => { code = c; };
  const { instance } = await WebAssembly.instantiateStreaming(fetch("test.wasm"), go.importObject);
  await go.run(instance);
  console.log("gotest: exit " + code);
})().catch((e) => {
  console.log("gotest: " + e);
  console.log("gotest: exit 1");
});
