"""``costmodel import``: a torch ``nn.Module`` -> a description in the grammar of
:mod:`costmodel.core.arch`, by symbolic tracing (``torch.fx.symbolic_trace``).

The traced graph is walked from its input: a chain of unary ops becomes a list of entries (a
conv absorbs the BatchNorm and activation right after it); a fork whose branches meet again
becomes a composite: ``residual`` (an add of two branches, one may be the identity), ``concat``
(``torch.cat`` on channels; a ``chunk`` into halves is a ``split`` concat) or ``se`` (a tensor
times its pool -> 1x1 conv -> act -> 1x1 conv -> gate branch). A channel shuffle written out
(view to (N, g, C/g, H, W) -> transpose(1, 2) -> view back, ShuffleNet's ``channel_shuffle``)
is one ``shuffle`` entry, as ``nn.ChannelShuffle`` is. Each entry keeps the node's name
(dots as ``_``), so the rows line up with the module. Convs keep their groups, dilation,
padding (torch padding, or ``same``) and bias; the classifier (the last weighted layer) keeps
its class count with ``scale: false``, every other width is thinned by ``--alpha``.

Anything else is refused with one line naming the node and what is allowed; nothing is counted
as zero. The result is checked before it is returned: the description at alpha 1 must resolve
and its parameters (the ``fvcore`` convention) must equal the module's ``sum(p.numel())``.
"""

from __future__ import annotations

import importlib
import importlib.util
import operator
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from costmodel.errors import CostModelError

_ACT_MODULES: dict[type[nn.Module], str] = {
    nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Hardswish: "hswish", nn.SiLU: "silu",
    nn.Sigmoid: "sigmoid", nn.Hardsigmoid: "hsigmoid", nn.Tanh: "tanh", nn.GELU: "gelu"}
_ACT_FUNCTIONS: dict[Any, str] = {
    F.relu: "relu", torch.relu: "relu", F.relu6: "relu6", F.hardswish: "hswish",
    F.silu: "silu", torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid", F.hardsigmoid: "hsigmoid",
    torch.tanh: "tanh", F.tanh: "tanh", F.gelu: "gelu", "relu": "relu", "sigmoid": "sigmoid",
    "tanh": "tanh", "relu_": "relu", "sigmoid_": "sigmoid"}
_ADD = (operator.add, operator.iadd, torch.add, "add", "add_")
_MUL = (operator.mul, operator.imul, torch.mul, "mul", "mul_")
_CAT = (torch.cat, torch.concat)
_FLATTEN = (torch.flatten, "flatten", "view", "reshape")
_SHAPE_ONLY = ("size", "dim")  # a node reading only a tensor's shape is not a data use
_SIZE_ARITHMETIC = (operator.floordiv, operator.mul, operator.add, operator.sub,
                    operator.truediv)  # on shape reads only: still a shape, not data
_RESHAPE = ("view", "reshape", torch.reshape)
_TRANSPOSE = ("transpose", torch.transpose)
ALLOWED = ("Conv2d (any groups, dilation, padding, bias), BatchNorm2d, ReLU/ReLU6/Hardswish/SiLU/"
           "Sigmoid/Hardsigmoid/Tanh/GELU (modules or functions), MaxPool2d, AvgPool2d, "
           "AdaptiveAvg/MaxPool2d, mean over H and W, flatten/view/reshape to (N, -1), Dropout, "
           "Linear, LocalResponseNorm, ChannelShuffle (or written out: view to (N, g, C/g, H, W) "
           "-> transpose(1, 2) -> view to (N, C, H, W)), Identity, add, cat on channels, chunk "
           "in 2, SE scale (x * gate)")


def _refuse(node: fx.Node, what: str) -> CostModelError:
    return CostModelError(f"node {node.name!r} ({what}) cannot be described; allowed: {ALLOWED}")


def _what(node: fx.Node, gm: fx.GraphModule) -> str:
    if node.op == "call_module":
        m = gm.get_submodule(str(node.target))
        return f"{type(m).__module__}.{type(m).__name__}"
    t = node.target
    return getattr(t, "__name__", str(t)) if node.op == "call_function" else f".{t}()"


def _key(node: fx.Node) -> Any:
    """What a node calls: a module class, a function, or a method name."""
    return node.target if node.op in ("call_function", "call_method") else None


def _is_meta(node: fx.Node) -> bool:
    """A node that reads a tensor's shape (x.size(0), x.shape[0]), not its data, or does
    arithmetic on such reads only (``channels // groups``)."""
    if node.op == "call_method" and node.target in _SHAPE_ONLY:
        return True
    if node.op == "call_function" and node.target is getattr:
        return True
    if node.op == "call_function" and node.target in _SIZE_ARITHMETIC:
        args = [a for a in node.args if isinstance(a, fx.Node)]
        return bool(args) and all(_is_meta(a) for a in args)
    return (node.op == "call_function" and node.target is operator.getitem
            and isinstance(node.args[0], fx.Node) and _is_meta(node.args[0]))


def _arg(node: fx.Node, i: int, name: str, default: Any = None) -> Any:
    """Argument ``i`` (or keyword ``name``) of a call node."""
    return node.args[i] if len(node.args) > i else node.kwargs.get(name, default)


def _name(node: fx.Node) -> str:
    return node.name.replace(".", "_")


def _pair(v: Any) -> list[int] | int:
    if isinstance(v, tuple | list):
        return int(v[0]) if v[0] == v[1] else [int(v[0]), int(v[1])]
    return int(v)


class _Walker:
    def __init__(self, gm: fx.GraphModule) -> None:
        self.gm = gm
        self.users: dict[fx.Node, list[fx.Node]] = {}
        for n in gm.graph.nodes:
            self.users[n] = [u for u in n.users if not _is_meta(u)]
        self.classifier: fx.Node | None = None

    def module(self, node: fx.Node) -> nn.Module | None:
        return self.gm.get_submodule(str(node.target)) if node.op == "call_module" else None

    def inputs(self, node: fx.Node) -> list[fx.Node]:
        """The tensor inputs of a node (cat's list flattened; shape reads left out)."""
        out: list[fx.Node] = []
        for a in node.args:
            for x in (a if isinstance(a, list | tuple) else [a]):
                if isinstance(x, fx.Node) and x.op != "get_attr" and not _is_meta(x):
                    out.append(x)
        return out

    # -------------------------------------------------------------------------- the walk
    def chain(self, cur: fx.Node) -> tuple[list[dict[str, Any]], fx.Node, fx.Node | None]:
        """Entries from ``cur`` on, until a node with several tensor inputs (returned as the
        merge) or the output: (entries, last node of the chain, merge or None)."""
        entries: list[dict[str, Any]] = []
        while True:
            users = self.users[cur]
            if len(users) == 1 and users[0].op == "output":
                return entries, cur, None
            if len(users) == 1 and len(self.inputs(users[0])) > 1:
                return entries, cur, users[0]
            if len(users) == 1 and not self._is_chunk(users[0]):
                entry, cur = self.unary(users[0])
                if entry is not None:
                    entries.append(entry)
                continue
            if not users:
                raise _refuse(cur, "an output that nothing reads")
            entry, cur = self.fork(cur)
            entries.append(entry)

    def _is_chunk(self, node: fx.Node) -> bool:
        return (_key(node) in (torch.chunk, "chunk")) or (
            node.op == "call_method" and node.target == "chunk")

    def fork(self, cur: fx.Node) -> tuple[dict[str, Any], fx.Node]:
        """The composite that starts at ``cur`` (several users) and the node where it ends."""
        users = self.users[cur]
        split = len(users) == 1 and self._is_chunk(users[0])
        starts = self._chunk_parts(users[0]) if split else users
        branches: list[tuple[list[dict[str, Any]], fx.Node]] = []
        merges: set[fx.Node | None] = set()
        for u in starts:
            if not split and len(self.inputs(u)) > 1:  # the identity branch
                branches.append(([], cur))
                merges.add(u)
                continue
            head: list[dict[str, Any]] = []
            if not split:
                entry, last = self.unary(u)
                head = [entry] if entry is not None else []
            else:
                last = u
            more, end, merge = self.chain(last)
            branches.append((head + more, end))
            merges.add(merge)
        if len(merges) != 1 or None in merges:
            raise _refuse(cur, "a fork whose branches do not meet at one add, cat or mul")
        merge = merges.pop()
        assert merge is not None
        return self.merge(merge, cur, branches, split), merge

    def _chunk_parts(self, chunk: fx.Node) -> list[fx.Node]:
        parts = sorted(self.users[chunk], key=lambda n: int(_arg(n, 1, "", 0)))
        n, dim = _arg(chunk, 1, "chunks"), _arg(chunk, 2, "dim", 0)
        if n != 2 or dim != 1 or len(parts) != 2 or any(p.target is not operator.getitem
                                                       for p in parts):
            raise _refuse(chunk, "a chunk other than 2 halves on channels, both used")
        return parts

    def merge(self, merge: fx.Node, cur: fx.Node, branches: list[tuple[list[dict[str, Any]],
              fx.Node]], split: bool) -> dict[str, Any]:
        key = _key(merge)
        by_end = {end: lst for lst, end in branches}
        order = self.inputs(merge)
        if set(order) != set(by_end) or len(order) != len(branches):
            raise _refuse(merge, "a merge of other tensors than the fork's branches")
        ordered = [by_end[n] for n in order]
        name = _name(merge)
        if key in _CAT:
            dim = merge.args[1] if len(merge.args) > 1 else merge.kwargs.get("dim", 0)
            if dim != 1:
                raise _refuse(merge, f"cat on dim {dim}")
            return {"type": "concat", "name": name, "branches": ordered, "split": split} \
                if split else {"type": "concat", "name": name, "branches": ordered}
        if split or len(ordered) != 2:
            raise _refuse(merge, "a split that does not end in a cat")
        if key in _ADD:
            body, short = sorted(ordered, key=len, reverse=True)
            if not short and body and body[-1].get("type") in ("conv", "pw") and \
                    body[-1].get("groups", 1) == 1:
                body[-1]["out"] = "same"  # tied to the block input: thinned alike
            return {"type": "residual", "name": name, "body": body, "shortcut": short}
        if key in _MUL:
            return self.se(merge, sorted(ordered, key=len))
        raise _refuse(merge, _what(merge, self.gm))

    def se(self, merge: fx.Node, ordered: list[list[dict[str, Any]]]) -> dict[str, Any]:
        ident, gate = ordered
        ok = (not ident and len(gate) == 3 and gate[0] == {"type": "avgpool", "name": gate[0]["name"]}
              and all(g.get("type") == "conv" and g.get("kernel") == 1 and g.get("bias")
                      and not g.get("bn", True) and g.get("groups", 1) == 1 for g in gate[1:]))
        if not ok:
            raise _refuse(merge, "a product other than an SE scale: x * (pool -> 1x1 conv with "
                                 "bias -> act -> 1x1 conv with bias -> gate)")
        red = gate[1]["out"]
        inner = gate[2]["out"]
        # squeeze width = int(C x ratio) gives back `red` at alpha 1 (half a channel of slack)
        return {"type": "se", "name": _name(merge), "ratio": min(1.0, (red + 0.5) / inner),
                "act": gate[1].get("act", "none"), "gate": gate[2].get("act", "none")}

    # ------------------------------------------------------------------------- unary ops
    def unary(self, node: fx.Node) -> tuple[dict[str, Any] | None, fx.Node]:
        """One entry for ``node`` (None: an op with no row, e.g. Identity) and the last node it
        absorbed."""
        m = self.module(node)
        if m is not None:
            return self.unary_module(node, m)
        key = _key(node)
        act = _ACT_FUNCTIONS.get(key) if not isinstance(key, str) or key in _ACT_FUNCTIONS \
            else None
        if act:
            return {"type": "act", "name": _name(node), "act": act}, node
        if key in _RESHAPE and len(self._shape(node)) == 5:
            return self.shuffle(node)
        if key in _FLATTEN:
            return self.flatten(node), node
        if key in (F.dropout, "contiguous"):
            p = _arg(node, 1, "p", 0.5)
            return ({"type": "dropout", "name": _name(node), "p": float(p)} if key == F.dropout
                    else None), node
        if key is F.adaptive_avg_pool2d and node.args[1:2] in ((1,), ((1, 1),)):
            return {"type": "avgpool", "name": _name(node)}, node
        if key in (torch.mean, "mean"):
            dims = _arg(node, 1, "dim")
            if tuple(dims or ()) in ((2, 3), (-2, -1), (3, 2)):
                return {"type": "avgpool", "name": _name(node)}, node
        if key in (F.max_pool2d, F.avg_pool2d):
            return self.pool_function(node), node
        if key is F.channel_shuffle:
            return {"type": "shuffle", "name": _name(node), "groups": int(_arg(node, 1, "groups"))}, node
        raise _refuse(node, _what(node, self.gm))

    @staticmethod
    def _shape(node: fx.Node) -> list[Any]:
        """The target shape of a view / reshape node (given as arguments or as one tuple)."""
        args = list(node.args[1:]) or [node.kwargs.get("shape", ())]
        return list(args[0]) if len(args) == 1 and isinstance(args[0], tuple | list) else args

    def _only_user(self, node: fx.Node) -> fx.Node | None:
        users = self.users[node]
        return users[0] if len(users) == 1 else None

    def shuffle(self, node: fx.Node) -> tuple[dict[str, Any], fx.Node]:
        """A channel shuffle written out, as ShuffleNet's ``channel_shuffle``: view to (N, g,
        C/g, H, W) -> transpose(1, 2) (-> contiguous) -> view / reshape to (N, C, H, W) or
        flatten(1, 2). ``g`` must be a constant; anything else is refused naming the node."""
        what = ("a 5-d view other than a channel shuffle: view to (N, g, C/g, H, W) -> "
                "transpose(1, 2) -> view to (N, C, H, W)")
        groups = self._shape(node)[1]
        t = self._only_user(node)
        if not isinstance(groups, int) or groups < 1 or t is None or _key(t) not in _TRANSPOSE:
            raise _refuse(node, what)
        dims = sorted(int(d) % 5 for d in (_arg(t, 1, "dim0"), _arg(t, 2, "dim1")))
        last = self._only_user(t)
        if last is not None and _key(last) == "contiguous":
            last = self._only_user(last)
        if dims != [1, 2] or last is None:
            raise _refuse(node, what)
        key = _key(last)
        four = key in _RESHAPE and len(self._shape(last)) == 4
        flat = key in (torch.flatten, "flatten") and \
            [_arg(last, 1, "start_dim", 0), _arg(last, 2, "end_dim", -1)] == [1, 2]
        if not (four or flat):
            raise _refuse(node, what)
        return {"type": "shuffle", "name": _name(node), "groups": groups}, last

    def flatten(self, node: fx.Node) -> dict[str, Any]:
        key = _key(node)
        args = list(node.args[1:])
        if key in (torch.flatten, "flatten"):
            ok = (args or [node.kwargs.get("start_dim", 0)])[0] == 1
        else:  # view / reshape to (N, -1)
            shape = args[0] if len(args) == 1 and isinstance(args[0], tuple | list) else args
            ok = len(shape) == 2 and shape[1] == -1
        if not ok:
            raise _refuse(node, f"{_what(node, self.gm)} other than a flatten to (N, -1)")
        return {"type": "flatten", "name": _name(node)}

    def pool_function(self, node: fx.Node) -> dict[str, Any]:
        kind = "maxpool" if node.target is F.max_pool2d else "avgpool"
        names = ("kernel_size", "stride", "padding")
        v = {k: node.kwargs.get(k, node.args[i + 1] if len(node.args) > i + 1 else None)
             for i, k in enumerate(names)}
        entry: dict[str, Any] = {"type": kind, "name": _name(node), "kernel": _pair(v["kernel_size"])}
        entry["stride"] = _pair(v["stride"] or v["kernel_size"])
        if v["padding"]:
            entry["padding"] = _pair(v["padding"])
        if node.kwargs.get("ceil_mode"):
            entry["ceil_mode"] = True
        return entry

    def unary_module(self, node: fx.Node, m: nn.Module) -> tuple[dict[str, Any] | None, fx.Node]:
        name = _name(node)
        if isinstance(m, nn.Identity):
            return None, node
        if isinstance(m, nn.Conv2d):
            return self.conv(node, m)
        if type(m) in _ACT_MODULES:
            return {"type": "act", "name": name, "act": _ACT_MODULES[type(m)]}, node
        if isinstance(m, nn.BatchNorm2d) and m.affine:
            return {"type": "bn", "name": name}, node
        if isinstance(m, nn.Dropout | nn.Dropout2d):
            return {"type": "dropout", "name": name, "p": float(m.p)}, node
        if isinstance(m, nn.Flatten) and m.start_dim == 1 and m.end_dim == -1:
            return {"type": "flatten", "name": name}, node
        if isinstance(m, nn.Linear):
            return self.linear(node, m), self.absorb_act(node)[1]
        if isinstance(m, nn.LocalResponseNorm):
            return {"type": "lrn", "name": name, "size": m.size, "alpha": m.alpha,
                    "beta": m.beta, "k": m.k}, node
        if isinstance(m, nn.ChannelShuffle):
            return {"type": "shuffle", "name": name, "groups": int(m.groups)}, node
        if isinstance(m, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
            out: Any = m.output_size
            size = out if isinstance(out, int) else (out[0] if out[0] == out[1] else None)
            if size is None:
                raise _refuse(node, "an adaptive pool to a non-square size")
            kind = "avgpool" if isinstance(m, nn.AdaptiveAvgPool2d) else "maxpool"
            return ({"type": kind, "name": name} if size == 1 and kind == "avgpool" else
                    {"type": kind, "name": name, "output": int(size)}), node
        if isinstance(m, nn.MaxPool2d | nn.AvgPool2d) and getattr(m, "dilation", 1) in (1, (1, 1)):
            entry = {"type": "maxpool" if isinstance(m, nn.MaxPool2d) else "avgpool",
                     "name": name, "kernel": _pair(m.kernel_size),
                     "stride": _pair(m.stride or m.kernel_size)}
            if m.padding not in (0, (0, 0)):
                entry["padding"] = _pair(m.padding)
            if m.ceil_mode:
                entry["ceil_mode"] = True
            return entry, node
        raise _refuse(node, _what(node, self.gm))

    def absorb_act(self, node: fx.Node) -> tuple[str, fx.Node]:
        """The activation right after ``node`` when it is the only reader: (act, last node)."""
        users = self.users[node]
        if len(users) != 1:
            return "none", node
        u = users[0]
        m = self.module(u)
        act = _ACT_MODULES.get(type(m)) if m is not None else (
            _ACT_FUNCTIONS.get(_key(u)) if _key(u) in _ACT_FUNCTIONS else None)
        return (act, u) if act else ("none", node)

    def conv(self, node: fx.Node, m: nn.Conv2d) -> tuple[dict[str, Any], fx.Node]:
        entry: dict[str, Any] = {"type": "conv", "name": _name(node),
                                 "kernel": _pair(m.kernel_size), "stride": _pair(m.stride)}
        depthwise = m.groups == m.in_channels == m.out_channels and m.groups > 1
        if depthwise:
            entry["type"] = "dw"
        else:
            entry["out"] = int(m.out_channels)
            if m.groups > 1:
                entry["groups"] = int(m.groups)
        if m.dilation not in ((1, 1), 1):
            if m.dilation[0] != m.dilation[1]:
                raise _refuse(node, "a conv with unequal dilations")
            entry["dilation"] = int(m.dilation[0])
        pad = m.padding
        entry["padding"] = "same" if pad == "same" else (0 if pad == "valid" else _pair(pad))
        if m.padding_mode != "zeros":
            raise _refuse(node, f"a conv with padding_mode {m.padding_mode!r}")
        entry["bias"] = m.bias is not None
        last, bn = node, False
        users = self.users[node]
        if len(users) == 1 and isinstance(self.module(users[0]), nn.BatchNorm2d) and \
                self.module(users[0]).affine:  # type: ignore[union-attr]
            last, bn = users[0], True
        entry["bn"] = bn
        act, last = self.absorb_act(last)
        entry["act"] = act
        self.classifier = node
        return entry, last

    def linear(self, node: fx.Node, m: nn.Linear) -> dict[str, Any]:
        act, _ = self.absorb_act(node)
        self.classifier = node
        return {"type": "linear", "name": _name(node), "out": int(m.out_features),
                "bias": m.bias is not None, "act": act}


def load_callable(target: str) -> Callable[[], Any]:
    """``MODULE:CALLABLE``; MODULE a dotted module on sys.path (the current folder included) or
    a .py file path."""
    mod_name, sep, attr = target.rpartition(":")
    if not sep or not mod_name or not attr:
        raise CostModelError(f"import target {target!r} is not MODULE:CALLABLE; allowed: e.g. "
                             f"mypkg.nets:build or path/to/nets.py:build")
    try:
        if mod_name.endswith(".py"):
            path = Path(mod_name)
            if not path.is_file():
                raise CostModelError(f"import target {target!r}: file {mod_name!r} does not "
                                     f"exist; allowed: a .py file or a dotted module")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            if "" not in sys.path:
                sys.path.insert(0, "")
            module = importlib.import_module(mod_name)
    except CostModelError:
        raise
    except Exception as exc:  # the user's module failed to import: one line, its reason
        raise CostModelError(f"import target {target!r}: importing {mod_name!r} failed: "
                             f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise CostModelError(f"import target {target!r}: {mod_name!r} has no callable {attr!r}")
    return fn


def describe_module(model: nn.Module, name: str = "imported", resolution: int = 224,
                    source: str = "") -> dict[str, Any]:
    """The description of ``model`` (a dict in the grammar); CostModelError naming the node
    that cannot be described."""
    if not isinstance(model, nn.Module):
        raise CostModelError(f"the callable returned {type(model).__name__}; allowed: a "
                             f"torch.nn.Module")
    try:
        gm = fx.symbolic_trace(model.eval())
    except Exception as exc:
        raise CostModelError(f"torch.fx cannot trace the model: {type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:200]}; allowed: a module without "
                             f"data-dependent control flow") from None
    inputs = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(inputs) != 1:
        raise CostModelError(f"the model takes {len(inputs)} inputs; allowed: one image tensor")
    w = _Walker(gm)
    entries, _, merge = w.chain(inputs[0])
    if merge is not None:
        raise _refuse(merge, "a merge with the network input")
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if first is None:
        raise CostModelError("the model has no Conv2d; allowed: a CNN on an image input")
    _mark_classifier(entries, _name(w.classifier) if w.classifier is not None else "")
    return {"name": name, "source": source, "input_channels": int(first.in_channels),
            "base_resolution": int(resolution), "layers": entries}


def _mark_classifier(entries: list[dict[str, Any]], name: str) -> None:
    """The last weighted layer keeps its width (the class count) at every alpha."""
    for e in entries:
        if e.get("name") == name:
            if e["type"] == "linear":
                e["type"] = "fc"
            e["scale"] = False


def import_model(target: str, resolution: int = 224) -> dict[str, Any]:
    """Call ``MODULE:CALLABLE`` and describe the module; the description is checked: it must
    resolve at ``resolution`` and hold exactly the module's parameters."""
    from costmodel.core.engine import layer_table

    fn = load_callable(target)
    try:
        model = fn()
    except Exception as exc:
        raise CostModelError(f"import target {target!r}: calling it failed: {type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:200]}") from None
    name = target.rpartition(":")[2]
    desc = describe_module(model, name, resolution, f"imported from {target} by costmodel import")
    table = layer_table(1.0, resolution, spec=desc, convention="fvcore")
    params = sum(p.numel() for p in model.parameters())
    if table.totals["params"] != params:
        raise CostModelError(f"the description of {target!r} holds {table.totals['params']:,} "
                             f"parameters, the module {params:,}: some module was not "
                             f"described; allowed: the ops listed by costmodel import --help")
    return desc
