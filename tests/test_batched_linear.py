"""BatchedLinear (one fused batched matmul for K members) against torch's own nn.Linear,
member by member: outputs and gradients, with and without bias, at the shapes lessons use."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from nets.models import BatchedLinear


def member_linears(layer: BatchedLinear) -> list[nn.Linear]:
    """K nn.Linear layers holding member k's weights (copies, so gradients stay apart)."""
    members, out_f, in_f = layer.weight.shape
    linears = []
    for k in range(members):
        linear = nn.Linear(in_f, out_f, bias=layer.bias is not None)
        with torch.no_grad():
            linear.weight.copy_(layer.weight[k])
            if layer.bias is not None:
                linear.bias.copy_(layer.bias[k, 0])
        linears.append(linear)
    return linears


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("members,in_f,out_f", [(1, 784, 8), (3, 784, 256), (5, 64, 10), (8, 1024, 10)])
def test_batched_linear_equals_nn_linear_per_member(bias, members, in_f, out_f):
    torch.manual_seed(members * 1000 + in_f)
    layer = BatchedLinear(members, in_f, out_f, bias=bias)
    generator = torch.Generator().manual_seed(0)
    for k in range(members):
        layer.init_member(k, None, generator)
    linears = member_linears(layer)
    x = torch.randn(members, 32, in_f, requires_grad=True)
    upstream = torch.randn(members, 32, out_f)
    out = layer(x)
    (out * upstream).sum().backward()
    for k, linear in enumerate(linears):
        xk = x[k].detach().clone().requires_grad_()
        want = linear(xk)
        (want * upstream[k]).sum().backward()
        torch.testing.assert_close(out[k], want, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(layer.weight.grad[k], linear.weight.grad, atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(x.grad[k], xk.grad, atol=1e-5, rtol=1e-5)
        if bias:
            torch.testing.assert_close(layer.bias.grad[k, 0], linear.bias.grad, atol=1e-4, rtol=1e-5)
