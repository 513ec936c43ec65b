// The translation unit that precompiles <torch/torch.h> for the targets reusing it.
