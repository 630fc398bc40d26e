"""papscope's network in PyTorch: the twin (model), its conversion to and from papscope's weights (convert), safetensors files (safetensors_io) and the LBC data (data)."""
