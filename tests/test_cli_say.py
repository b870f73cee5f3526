"""Issue 14, CLI side: a spec's base_resolution, the spec's own name, one list syntax, unit hints
in errors, help that describes and shows defaults, -o FILE's format, one size unit."""

from __future__ import annotations

import json
import re

import pytest

from costmodel.cli import build_parser, main

TINY = "examples/tiny_net.yaml"  # base_resolution: 128


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def _json(capsys, *argv: str) -> dict:
    rc, out, err = run_cli(capsys, *argv, "--format", "json")
    assert rc == 0, err
    return json.loads(out)


# ---------------------------------------------------------------- base_resolution and the name
def test_table_uses_the_specs_base_resolution(capsys):
    doc = _json(capsys, "table", "--spec", TINY)
    assert doc["config"]["resolution"] == 128
    # conv1: 3x3, stride 2, 3 -> 16 channels on ceil(128/2) = 64x64 outputs
    assert doc["layers"][0]["out_shape"] == "64x64x16"
    assert doc["layers"][0]["mult_adds"] == 3 * 3 * 3 * 16 * 64 * 64


@pytest.mark.parametrize("rho,resolution", [("1", 128), ("0.5", 64), ("0.75", 96)])
def test_rho_is_a_fraction_of_the_specs_base(capsys, rho, resolution):
    assert _json(capsys, "table", "--spec", TINY, "--rho", rho)["config"]["resolution"] == resolution


def test_rho_without_spec_keeps_224(capsys):
    assert _json(capsys, "table", "--rho", "1")["config"]["resolution"] == 224


def test_formula_text_names_the_specs_base(capsys):
    rc, out, _ = run_cli(capsys, "formula", "--spec", TINY)
    assert rc == 0 and "(rho = resolution / 128;" in out and "/ 224" not in out
    rc, out, _ = run_cli(capsys, "formula")
    assert "(rho = resolution / 224;" in out


def test_titles_print_the_specs_name_not_mobilenet_v1(capsys):
    _, out, _ = run_cli(capsys, "table", "--spec", TINY)
    assert out.splitlines()[0].startswith("tiny_net alpha=1 resolution=128 ")
    assert "mobilenet_v1" not in out
    _, out, _ = run_cli(capsys, "table", "--spec", TINY, "--variant", "no_middle")
    assert out.splitlines()[0].startswith("tiny_net variant=no_middle alpha=1 resolution=128 ")


def test_breakdown_header_names_the_network_once(capsys):
    _, out, _ = run_cli(capsys, "breakdown")
    head = out.splitlines()[0]
    assert "mobilenet_v1 mobilenet_v1" not in head
    assert head.startswith("Resource per layer type: mobilenet_v1 alpha=1 resolution=224 ")
    _, out, _ = run_cli(capsys, "breakdown", "--variant", "shallow")
    assert out.splitlines()[0].startswith(
        "Resource per layer type: mobilenet_v1 variant=shallow alpha=1 resolution=224 ")


# ---------------------------------------------------------------- one list syntax everywhere
def test_one_list_parser_for_every_command():
    parse = build_parser().parse_args
    for cmd in (["sweep"], ["formula"], ["verify"], ["bench"],
                ["latency", "predict", "--device-id", "x"]):
        a = parse([*cmd, "--alpha", "0.5,0.75", "--resolution", "128:160:32"])
        b = parse([*cmd, "--alphas", "0.5,0.75", "--resolutions", "128:160:32"])
        assert (a.alpha, a.resolution) == (b.alpha, b.resolution) == ("0.5,0.75", "128:160:32")


def test_verify_and_bench_take_lists_in_alpha_and_resolution():
    from costmodel.cli.bench import configs_from_args as bench_configs
    from costmodel.cli.verify import configs_from_args as verify_configs

    parse = build_parser().parse_args
    want = [(0.5, 128), (0.5, 160), (0.75, 128), (0.75, 160)]
    for cmd, fn in (("verify", verify_configs), ("bench", bench_configs)):
        got = fn(parse([cmd, "--alpha", "0.5,0.75", "--resolution", "128:160:32"]))
        assert [(float(a), int(r)) for a, r in got] == want


def test_sweep_accepts_alphas(capsys):
    rc, out, err = run_cli(capsys, "sweep", "--alphas", "0.5,1", "--resolutions", "128",
                           "--format", "csv")
    assert rc == 0, err
    rows = out.strip().splitlines()[1:]
    assert [r.split(",")[:2] for r in rows] == [["0.5", "128"], ["1.0", "128"]]


def test_single_config_commands_refuse_a_list(capsys):
    rc, _, err = run_cli(capsys, "table", "--alpha", "0.5,1")
    assert rc == 2 and "alpha '0.5,1' is a list" in err and "sweep" in err


# ---------------------------------------------------------------- errors that teach
@pytest.mark.parametrize("argv,needles", [
    (["table", "--rho", "160"], ["rho '160'", "fraction of the base resolution 224",
                                 "resolution 160"]),
    (["table", "--spec", TINY, "--rho", "128"], ["fraction of the base resolution 128"]),
    (["table", "--alpha", "75"], ["alpha '75'", "did you mean 0.75?"]),
    (["recommend", "--min-top1", "0.7"], ["min_top1 '0.7'", "percentage", "did you mean 70?"]),
])
def test_unit_hints(capsys, argv, needles):
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 2 and out == "" and err.count("\n") == 1
    for n in needles:
        assert n in err


def test_rho_boundary(capsys):
    from costmodel.core.arch import RHO_MAX

    # just under the limit is a (huge) multiplier: round(224 * 15.9) = 3562 px
    assert _json(capsys, "table", "--rho", str(RHO_MAX - 0.1), "--alpha", "0.05",
                 "--variant", "shallow")["config"]["resolution"] == round(224 * (RHO_MAX - 0.1))
    rc, _, err = run_cli(capsys, "table", "--rho", str(RHO_MAX))
    assert rc == 2 and "fraction of the base resolution" in err


def test_min_top1_boundary():
    from costmodel.errors import CostModelError
    from costmodel.search.recommend import check_budget

    assert check_budget("min_top1", 1) == 1.0  # 1 % is a (weak) percentage
    with pytest.raises(CostModelError, match="did you mean 99"):
        check_budget("min_top1", 0.99)


# ---------------------------------------------------------------- help
def test_bare_costmodel_prints_usage_and_commands(capsys):
    rc, out, err = run_cli(capsys)
    assert rc == 0 and err == ""
    assert out.startswith("usage: costmodel")
    for cmd in ("table", "sweep", "verify", "pareto", "recommend", "serve", "latency"):
        assert re.search(rf"^\s+{cmd}\b", out, re.M), cmd


def test_version(capsys):
    from costmodel import __version__

    rc, out, _ = run_cli(capsys, "--version")
    assert rc == 0 and out.strip() == f"costmodel {__version__}"


def _subcommands() -> list[list[str]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    out = []
    for name, p in sub.choices.items():
        nested = [a for a in p._actions if a.dest == "latency_command"]
        out += [[name, n] for n in nested[0].choices] if nested else [[name]]
    return out


@pytest.mark.parametrize("cmd", _subcommands(), ids=" ".join)
def test_each_subcommand_help_describes_and_shows_defaults(capsys, cmd):
    rc, out, _ = run_cli(capsys, *cmd, "--help")
    assert rc == 0
    description = out.split("\n\n")[1]
    assert description.strip().endswith(".") and "\n" not in description.strip()[:60]
    parser = build_parser()
    p = parser
    for name in cmd:
        p = next(a for a in p._actions if a.dest in ("command", "latency_command")).choices[name]
    flat = " ".join(out.split("\n\n", 2)[2].split())  # the option list, not the usage
    for action in p._actions:
        d = action.default
        if action.option_strings and d not in (None, False) and action.dest != "help":
            opt = action.option_strings[-1] if action.option_strings[-1].startswith("--") \
                else action.option_strings[0]
            seg = flat[flat.index(opt):]
            assert "default" in seg[:400], (opt, d)


def test_verify_offers_latex(capsys):
    rc, out, err = run_cli(capsys, "verify", "--alpha", "0.25", "--resolution", "64",
                           "--counters", "none", "--format", "latex")
    assert rc == 0, err
    assert "\\begin{tabular}" in out and "\\end{tabular}" in out
    # every line is a tabular line or a LaTeX comment: the file can be \input
    for line in out.splitlines():
        assert not line or line.startswith(("\\", "%")) or line.endswith("\\\\"), line


# ---------------------------------------------------------------- output and units
@pytest.mark.parametrize("ext,check", [
    (".csv", lambda t: t.splitlines()[0].startswith("index,name,")),
    (".json", lambda t: json.loads(t)["config"]["alpha"] == 0.75),
    (".md", lambda t: t.startswith("|")),
    (".tex", lambda t: t.startswith("\\begin{tabular}")),
    (".txt", lambda t: t.startswith("mobilenet_v1 alpha=0.75")),
])
def test_output_format_follows_the_extension(capsys, tmp_path, ext, check):
    out = tmp_path / f"t{ext}"
    rc, _, err = run_cli(capsys, "table", "--alpha", "0.75", "-o", str(out))
    assert rc == 0, err
    assert check(out.read_text())


def test_explicit_format_wins_over_the_extension(capsys, tmp_path):
    out = tmp_path / "t.csv"
    rc, _, _ = run_cli(capsys, "table", "--format", "json", "-o", str(out))
    assert rc == 0 and json.loads(out.read_text())["totals"]["mult_adds"] == 568_740_352


def test_one_size_unit_mb(capsys):
    # 0.75-224: 2,568,144 params x 4 bytes = 10,272,576 bytes = 10.27 MB (10^6), not 9.80 MiB
    _, out, _ = run_cli(capsys, "table", "--alpha", "0.75")
    assert "weights 10.27 MB fp32" in out and "MiB" not in out
    _, out, _ = run_cli(capsys, "sweep", "--alpha", "0.75", "--resolution", "224")
    assert "peak act. (MB)" in out and "MiB" not in out


# ---------------------------------------------------------------- sign convention
def test_formula_sign_matches_notebook_02_plot(capsys):
    """`formula` prints (exact - polynomial) / polynomial; notebook 02's lower panel plots the
    same quantity. At 1.0-130 the exact count exceeds the polynomial (SAME padding's ceil)."""
    from costmodel.core.engine import layer_table
    from costmodel.report import plots

    exact = layer_table(1.0, 130).totals["mult_adds"]
    rho = 130 / 224
    poly = 539_492_352 * rho**2 + 28_224_000 * rho**2 + 1_024_000  # README's polynomial at alpha 1
    want = 100 * (exact - poly) / poly
    assert want > 10
    _, out, _ = run_cli(capsys, "formula", "--alpha", "1", "--resolution", "130")
    row = next(line for line in out.splitlines() if line.split()[:2] == ["1", "130"])
    assert row.split()[5] == f"{want:+.2f}"
    from costmodel.core.formula import compare

    pytest.importorskip("matplotlib")
    fig = plots.scaling_plot({"int": compare([1.0], [128, 130])}, x="resolution")
    bottom = fig.axes[1]
    ys = list(bottom.lines[0].get_ydata())
    assert ys[1] == pytest.approx(want, abs=1e-6)


# ---------------------------------------------------------------- --grid on a measured axis
def test_pareto_grid_on_a_measured_axis_says_so(capsys):
    doc = _json(capsys, "pareto", "--x", "latency:pixel3_cpu4", "--grid", "--show", "all")
    # pixel3_cpu4 has the 16 published configs only (Table/TF-slim): the grid is not used
    assert len(doc["points"]) == 16
    note = next(n for n in doc["notes"] if n.startswith("--grid"))
    assert "only measured configs" in note and "latency_pred:pixel3_cpu4" in note
    rc, out, _ = run_cli(capsys, "pareto", "--x", "latency:pixel3_cpu4", "--grid")
    assert rc == 0 and "note: --grid: a measured latency axis holds only measured configs" in out
    doc = _json(capsys, "pareto", "--x", "mult_adds", "--grid")
    assert not any(n.startswith("--grid") for n in doc["notes"])


def test_recommend_grid_with_a_measured_budget_says_so(capsys):
    rc, out, _ = run_cli(capsys, "recommend", "--grid", "--device", "pixel3_cpu4",
                         "--max-latency-ms", "10")
    assert rc == 0 and "considers only configs measured on pixel3_cpu4 (16 here)" in out
    assert "--predicted-latency" in out
    rc, out, _ = run_cli(capsys, "recommend", "--grid", "--max-mult-adds-m", "300")
    assert "note: --grid" not in out
