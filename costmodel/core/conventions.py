"""Counting conventions: what a "mult-add" and a "parameter" include. Documented here only.

Every published figure counts something slightly different; the engine takes the convention as
a named parameter so the same layer list reproduces each of them.

==========  ====================================================================================
paper       (default) MobileNets paper, Tables 1-9. Mult-adds of conv and FC weights only; one
            fused multiply-add = 1 (a grouped conv k_h*k_w*(C_in/groups)*C_out per output
            pixel). Params: conv and FC weights only. No BatchNorm, no biases, no pooling,
            no activations or adds, 1000-way FC.
fvcore      What fvcore's ``FlopCountAnalysis`` and ``parameter_count`` report by default on the
            torch model (Conv-BN-ReLU blocks, eval mode): conv and linear count one per
            multiply-add (bias adds not counted); ``aten::batch_norm`` in eval mode with an affine
            transform counts 2 per output element; ``adaptive_avg_pool2d`` counts 1 per input
            element (windowed avg_pool2d and max pools are not counted); ReLU and every other
            activation, residual adds, SE scales, concat, shuffle and LRN are not counted.
            Params: conv weights and biases, BN weight and bias (2 per channel; running
            statistics are buffers, not parameters), FC weight and bias: torch's parameter
            count.
tfslim      The TF-slim checkpoint table (tensorflow/models research/slim mobilenet_v1.md).
            MACs: conv and logits weights, the logits layer 1001-way (a background class).
            Params: conv weights (and biases of convs without BN), BatchNorm with
            ``scale=False`` stored as 3 vectors per channel (beta, moving mean, moving
            variance), and the 1001-way logits conv with its bias.
==========  ====================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Convention:
    name: str
    summary: str
    norm_ops_per_element: int = 0  # ops per BatchNorm output element added to mult-adds
    norm_params_per_channel: int = 0  # BatchNorm vectors counted as parameters
    pool_ops_per_input: int = 0  # ops per input element of the average pool
    fc_bias: bool = False  # FC bias counted as parameters
    conv_bias: bool = False  # conv biases (convs without BN: VGG, AlexNet, SE) as parameters
    extra_classes: int = 0  # extra logits (TF-slim's background class)


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention("paper", "conv + FC weights only; no BN, bias or pooling; 1000-way FC"),
        Convention(
            "fvcore",
            "fvcore defaults: conv + linear MACs, BN 2/element, avg pool 1/input element; "
            "params incl. BN weight+bias and FC bias",
            norm_ops_per_element=2,
            norm_params_per_channel=2,
            pool_ops_per_input=1,
            fc_bias=True,
            conv_bias=True,
        ),
        Convention(
            "tfslim",
            "TF-slim checkpoints: conv + logits MACs; params incl. BN (3/channel) and a "
            "1001-way logits layer with bias",
            norm_params_per_channel=3,
            fc_bias=True,
            conv_bias=True,
            extra_classes=1,
        ),
    )
}


def get_convention(name: str | Convention) -> Convention:
    from costmodel.core.arch import check_choice

    if isinstance(name, Convention):
        return name
    return CONVENTIONS[check_choice("convention", name, list(CONVENTIONS))]
