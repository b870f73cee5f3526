"""costmodel import: torch modules (tests/nets/imported.py, written here) traced into
descriptions that the whole tool takes. At alpha 1 the `paper` convention's mult-adds equal
fvcore's conv + linear count on the ORIGINAL module, the `fvcore` convention's params equal its
sum(p.numel()), and verify agrees with fvcore per layer on the description's own torch model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: pip install 'costmodel[torch]'")
pytest.importorskip("fvcore", reason="fvcore is not installed: pip install 'costmodel[torch]'")
yaml = pytest.importorskip("yaml")

from costmodel.cli import main  # noqa: E402
from costmodel.core.engine import layer_table  # noqa: E402
from costmodel.crosscheck import verify as V  # noqa: E402
from costmodel.crosscheck.importer import import_model  # noqa: E402
from costmodel.errors import CostModelError  # noqa: E402
from tests.nets import imported  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NETS = list(imported.NETS)
R = 96  # every net is fully convolutional up to its global pool: any size >= 64 shows the same


def _fvcore_conv_linear(model: torch.nn.Module, resolution: int) -> int:
    from fvcore.nn import FlopCountAnalysis

    with V.quiet(), torch.no_grad():
        a = FlopCountAnalysis(model.eval(), torch.randn(1, 3, resolution, resolution))
        a.unsupported_ops_warnings(False)
        ops = a.by_operator()
    return int(ops.get("conv", 0) + ops.get("linear", 0) + ops.get("addmm", 0))


@pytest.mark.parametrize("name", NETS)
def test_paper_mult_adds_and_fvcore_params_equal_the_original_module(name):
    desc = import_model(f"tests.nets.imported:{name}", R)
    model = imported.NETS[name]()
    paper = layer_table(1.0, R, spec=desc, convention="paper")
    fv = layer_table(1.0, R, spec=desc, convention="fvcore")
    assert paper.totals["mult_adds"] == _fvcore_conv_linear(model, R)
    assert fv.totals["params"] == sum(p.numel() for p in model.parameters())


def test_resnet_description_by_hand():
    # stem 7x7/2 (pad 3) at 96: 48x48x16, weights 7*7*3*16 = 2,352, MACs 2,352 * 48*48
    desc = import_model("tests.nets.imported:TinyResNet", R)
    rows = {r["name"]: r for r in layer_table(1.0, R, spec=desc).rows}
    assert rows["stem_0"]["mult_adds"] == 2352 * 48 * 48
    assert rows["pool"]["out_shape"] == (24, 24, 16)  # max pool 3/2 pad 1: (48 + 2 - 3) // 2 + 1
    # the second block's identity residual: its last conv is tied to the block input width
    layer1 = [e for e in desc["layers"] if e["type"] == "residual"]
    assert layer1[0]["shortcut"] == [] and layer1[0]["body"][-1]["out"] == "same"
    assert layer1[2]["shortcut"][0]["name"] == "layer2_down_0"  # the 1x1/2 downsample
    assert desc["layers"][-1] == {"type": "fc", "name": "fc", "out": 10, "bias": True,
                                  "act": "none", "scale": False}


def test_se_shuffle_and_concat_become_composites():
    mb = import_model("tests.nets.imported:TinyMobileNetV3", R)
    ses = [e for blk in mb["layers"] if blk["type"] == "residual" for e in blk["body"]
           if e["type"] == "se"]
    [se] = ses  # block 2 (residual, SE of 72 -> 18): int(72 x ratio) = 18
    assert se["act"] == "relu" and se["gate"] == "hsigmoid" and int(72 * se["ratio"]) == 18
    sh = import_model("tests.nets.imported:TinyShuffle", R)
    assert [e["type"] for e in sh["layers"]][1:5] == ["concat", "shuffle", "concat", "shuffle"]
    assert sh["layers"][1]["split"] is True and sh["layers"][1]["branches"][0] == []
    inc = import_model("tests.nets.imported:TinyInception", R)
    cat = [e for e in inc["layers"] if e["type"] == "concat"][0]
    assert len(cat["branches"]) == 4
    assert cat["branches"][2][1]["kernel"] == [1, 5] and cat["branches"][2][1]["padding"] == [0, 2]


def test_written_out_channel_shuffle_is_a_shuffle():
    # channel_shuffle(x, 2) as torchvision writes it: view (N, 2, C/2, H, W) -> transpose(1, 2)
    # -> contiguous -> view (N, C, H, W); described exactly as nn.ChannelShuffle(2) is
    written = import_model("tests.nets.imported:TinyWrittenShuffle", R)
    module = import_model("tests.nets.imported:TinyShuffle", R)
    assert [e["type"] for e in written["layers"]] == [e["type"] for e in module["layers"]]
    shuffles = [e for e in written["layers"] if e["type"] == "shuffle"]
    assert [e["groups"] for e in shuffles] == [2, 2] and shuffles[0]["name"] == "view"
    a = layer_table(1.0, R, spec=written).totals
    b = layer_table(1.0, R, spec=module).totals
    assert a["mult_adds"] == b["mult_adds"] and a["params"] == b["params"]
    v = V.verify(1.0, 64, spec=written, counters=[])
    assert v.mismatches() == [] and v.agree


def test_other_5d_views_are_refused():
    with pytest.raises(CostModelError, match=r"^node 'view' \(a 5-d view other than a channel "
                                             r"shuffle"):
        import_model("tests.nets.imported:WithWrongTranspose")


@pytest.mark.parametrize("name", ["TinyResNet", "TinyInception", "TinyMobileNetV3",
                                  "TinyShuffle", "TinyAlexNet"])
def test_verify_agrees_per_layer_on_imported_models(name):
    desc = import_model(f"tests.nets.imported:{name}", R)
    v = V.verify(1.0, 64, spec=desc, counters=[])
    assert v.mismatches() == [] and v.agree


def test_alpha_thins_all_but_the_input_and_the_classes():
    desc = import_model("tests.nets.imported:TinyMobileNetV3", R)
    full = layer_table(1.0, R, spec=desc).rows
    half = layer_table(0.5, R, spec=desc).rows
    assert half[0]["in_shape"][2] == 3 and half[-1]["out_channels"] == 10
    assert half[0]["out_channels"] == 8 and full[0]["out_channels"] == 16
    # the hidden linear (120 -> 64) is thinned: 60 -> 32
    hidden = [r for r in half if r["name"] == "classifier_0"][0]
    assert (hidden["in_channels"], hidden["out_channels"]) == (60, 32)


def test_unsupported_op_is_named_in_one_line():
    with pytest.raises(CostModelError, match=r"^node 'norm' \(torch\.nn\.modules\.normalization"
                                             r"\.GroupNorm\) cannot be described; allowed: "):
        import_model("tests.nets.imported:WithGroupNorm")
    with pytest.raises(CostModelError, match="node 'flatten'"):
        import_model("tests.nets.imported:WithAttention")


@pytest.mark.parametrize("target,message", [
    ("tests.nets.imported", "is not MODULE:CALLABLE"),
    ("tests.nets.imported:nope", "has no callable 'nope'"),
    ("tests.nets.nothere:Net", "importing 'tests.nets.nothere' failed"),
    ("tests/nets/nothere.py:Net", "does not exist"),
    ("tests.nets.imported:not_a_module", "returned int"),
])
def test_bad_targets(target, message):
    with pytest.raises(CostModelError, match=message):
        import_model(target)


def test_cli_writes_a_description_the_tool_takes(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "net.yaml"
    assert main(["import", "tests/nets/imported.py:TinyResNet", "-o", str(out),
                 "--resolution", "96"]) == 0
    assert "wrote" in capsys.readouterr().out
    desc = yaml.safe_load(out.read_text())
    assert desc["base_resolution"] == 96 and desc["input_channels"] == 3
    assert main(["table", "--spec", str(out), "--alpha", "0.5"]) == 0
    assert "layer2_conv1" in capsys.readouterr().out
    assert main(["verify", "--spec", str(out), "--resolution", "64", "--counters", "none"]) == 0


def test_cli_unsupported_op_exit_2_one_line_no_file(tmp_path):
    out = tmp_path / "net.yaml"
    r = subprocess.run([sys.executable, "-m", "costmodel", "import",
                        "tests.nets.imported:WithGroupNorm", "-o", str(out)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert r.stderr.startswith("costmodel: error: node 'norm' (torch.nn.modules.normalization."
                               "GroupNorm) cannot be described; allowed:")
    assert not out.exists() and list(tmp_path.iterdir()) == []
