#!/usr/bin/env python3
"""tests/hf-transformers' checks, run with HuggingFace transformers and PyTorch importable.

  hf_transformers.py reference FIXTURES WORK   transformers' own T5ForConditionalGeneration (float64)
                                               on the hf_t5 fixtures' checkpoints gives the logits
                                               their reference.json holds (written by
                                               make_reference.py's NumPy transcription)
  hf_transformers.py resave FIXTURES WORK      the fixtures' checkpoints loaded and saved again by
                                               transformers (save_pretrained) into WORK/hf_t5/, for
                                               ptuner's HfParity test to read
                                               (PTUNER_HF_T5_FIXTURES)
  hf_transformers.py peer PARAMETERS           gpu-check's peer model (launch/gpu_check.py) has the
                                               parameters `ptuner plan` counts (PARAMETERS: lines of
                                               "PRESET COUNT") for each preset, one
                                               input embedding, an untied LM head and
                                               no output rescaling

Each prints one line per checked thing and exits non-zero on the first that does not hold.
"""
import importlib.util
import json
import os
import shutil
import sys

import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = ("v1_0", "v1_1")


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def from_pretrained(directory, dtype):
    # transformers >= 4.56 names the argument dtype; torch_dtype before.
    try:
        return transformers.T5ForConditionalGeneration.from_pretrained(directory, dtype=dtype).eval()
    except TypeError:
        return transformers.T5ForConditionalGeneration.from_pretrained(directory, torch_dtype=dtype).eval()


def relative(a, b):
    a, b = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    return ((a - b).abs().max() / b.abs().max()).item()


def lift_float32_islands():
    """modeling_t5 computes two things in float32 even in a float64 model: T5LayerNorm's variance
    (hidden_states.to(torch.float32)) and the attention softmax (scores.float()); both in float64
    here, so that what is left between it and the transcription is summation order."""
    from transformers.models.t5 import modeling_t5

    def layer_norm(self, hidden_states):
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        return self.weight * (hidden_states * torch.rsqrt(variance + self.variance_epsilon))

    modeling_t5.T5LayerNorm.forward = layer_norm
    to_float = torch.Tensor.float
    torch.Tensor.float = lambda self, *a, **k: self if self.dtype == torch.float64 else to_float(self, *a, **k)


def reference(fixtures, work):
    """make_reference.py with transformers as its backend, against the committed (NumPy) files:
    as transformers computes (its float32 islands bound the difference, about 1e-7), then with
    those islands in float64 (summation order only)."""
    make = load_module(os.path.join(fixtures, "hf_t5", "make_reference.py"), "make_reference")
    for variant, bound in (("as shipped", 1e-6), ("float64 throughout", 1e-12)):
        if variant == "float64 throughout":
            lift_float32_islands()
        out = os.path.join(work, "reference-" + variant.split()[0])
        sys.argv = ["make_reference.py", out, "--backend", "hf"]
        make.main()
        for name in MODELS:
            ours, theirs = os.path.join(fixtures, "hf_t5", name), os.path.join(out, name)
            # The same seed writes the same checkpoint: the logits below are of the same weights.
            for f in ("config.json", "model.safetensors"):
                with open(os.path.join(ours, f), "rb") as a, open(os.path.join(theirs, f), "rb") as b:
                    assert a.read() == b.read(), f"{name}/{f}: make_reference.py wrote another file than the fixture's"
            committed = json.load(open(os.path.join(ours, "reference.json")))
            hf = json.load(open(os.path.join(theirs, "reference.json")))
            assert committed["backend"] == "numpy" and hf["backend"] == "hf", (committed["backend"], hf["backend"])
            assert committed["logits_shape"] == hf["logits_shape"]
            for case in ("plain", "prompt"):
                err = relative(committed[case + "_logits"], hf[case + "_logits"])
                print(f"reference {name} {case}: the fixture's logits against transformers "
                      f"{transformers.__version__} ({variant}, float64): max relative error {err:.1e}")
                assert err < bound, f"{name} {case}: the fixture's logits are not transformers' ({err:.1e})"


def resave(fixtures, work):
    """What a researcher's transformers writes must load in ptuner as the fixture does."""
    for name in MODELS:
        src, dst = os.path.join(fixtures, "hf_t5", name), os.path.join(work, "hf_t5", name)
        shutil.rmtree(dst, ignore_errors=True)
        model = from_pretrained(src, torch.float32)
        model.save_pretrained(dst)
        files = sorted(f for f in os.listdir(dst) if f.endswith(".safetensors"))
        print(f"resave {name}: transformers {transformers.__version__} wrote {', '.join(sorted(os.listdir(dst)))}")
        from safetensors.torch import load_file
        saved = {}
        for f in files:
            saved.update(load_file(os.path.join(dst, f)))
        original = load_file(os.path.join(src, "model.safetensors"))
        missing = sorted(set(original) - set(saved))
        extra = sorted(set(saved) - set(original))
        print(f"resave {name}: {len(saved)} tensors ({saved[next(iter(saved))].dtype}); "
              f"missing {missing or 'none'}; extra {extra or 'none'}")
        for k in set(original) & set(saved):
            assert torch.equal(original[k], saved[k].to(original[k].dtype)), f"{name}: {k} changed on saving"


def peer(parameters):
    """The model gpu-check's peer times is the one ptuner benches: same size, embeddings, head, scaling."""
    gpu_check = load_module(os.path.join(HERE, "..", "launch", "gpu_check.py"), "gpu_check")
    for line in open(parameters):
        preset, count = line.split()[0], int(line.split()[1])
        with torch.device("meta"):
            model = gpu_check.peer_model(transformers, preset)
        n = sum(p.numel() for p in model.parameters())  # parameters() lists a shared tensor once
        tied = model.lm_head.weight is model.shared.weight
        shared = model.encoder.embed_tokens.weight is model.shared.weight is model.decoder.embed_tokens.weight
        rescaled = getattr(model.config, "scale_decoder_outputs", None)
        print(f"peer {preset}: transformers {transformers.__version__} builds {n} parameters "
              f"(ptuner plan: {count}); one input embedding: {shared}; LM head tied: {tied}; "
              f"scale_decoder_outputs: {rescaled}")
        assert n == count, f"{preset}: the peer's model has {n} parameters, ptuner's {count}"
        assert shared, f"{preset}: the peer's encoder or decoder has an embedding of its own"
        assert not tied, f"{preset}: the peer's LM head is the embedding (v1.1 has its own)"
        assert not rescaled, f"{preset}: the peer rescales the decoder output (v1.1 does not)"


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"reference": reference, "resave": resave, "peer": peer}[command](*args)
