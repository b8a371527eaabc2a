#!/usr/bin/env python3
"""PruneLens benchmark reference in the official code's own framework: PyTorch on the CPU.

The official repositories run these methods as PyTorch tensor operations; bench/reference.py restates them
in NumPy. This file keeps PyTorch's calls (F.normalize, matrix_power, topk, index_select, einsum,
scatter_reduce, argsort) so the bench can measure both. Same protocol and bundles as reference.py, whose
serve loop it reuses. F³A has no official code and the random and uniform baselines are PruneLens's own:
those three stay on reference.py's NumPy functions. Torch's thread count is set to the machine's cores
(Debian's build starts with one), and its matmuls run on the same OpenBLAS as NumPy's.
Benchmark material only (npm run bench); PruneLens never runs it.
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

import reference as np_ref

torch.set_num_threads(os.cpu_count() or 1)
torch.set_grad_enabled(False)

_TENSORS = [None, None]  # the bundle dict last converted, and its tensors


def tensors(b):
    """The bundle's arrays as CPU tensors, converted once per bundle (in the untimed warm-up runs)."""
    if _TENSORS[0] is not b:
        _TENSORS[:] = [b, {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in b.items()}]
    return _TENSORS[1]


def sorted_keep(idx):
    return torch.sort(idx).values.numpy()


# ---------------------------------------------------------------- G-Prune (jytmelon/G-Prune llava_arch.py)
def gprune_transition(x, theta, temp):
    xn = F.normalize(x, dim=-1)
    sim = xn @ xn.T
    sim = torch.where(sim < theta, torch.zeros((), dtype=sim.dtype), sim)
    z = sim / temp
    z[z.abs() < 1e-6] = -5000
    return torch.softmax(z, dim=1)


def gprune(b, p):
    x = tensors(b)["features"]
    theta, temp, it, ratio = p.get("theta", 0.5), p.get("temperature", 0.03), p.get("iterate_num", 5), p["keep_ratio"]
    norms = x.norm(dim=-1)
    trans = gprune_transition(x, theta, temp)
    degree = (trans > 0).sum(dim=1)
    power = torch.linalg.matrix_power(trans, it)
    score = (norms @ power) / degree
    k = int(ratio * x.shape[0])
    return sorted_keep(torch.topk(score, k).indices)


# ---------------------------------------------------------------- DivPrune (vbdi/divprune llava_arch.py)
def divprune(b, p):
    x = tensors(b)["features"]
    n = x.shape[0]
    k = int(round(p["ratio"] * n))
    xn = F.normalize(x, dim=-1)
    dist = 1.0 - xn @ xn.T
    s = torch.empty(k, dtype=torch.long)
    for i in range(k):
        if i == 0:
            scores = torch.topk(dist, 2, dim=0, largest=False).values[1]
        else:
            scores = torch.index_select(dist, 0, s[:i]).min(dim=0).values
        s[i] = torch.argmax(scores)
    return sorted_keep(s)


# ---------------------------------------------------------------- CDPruner (Theia-4869/CDPruner encode_images)
def cdpruner(b, p):
    t_ = tensors(b)
    x, img, txt = t_["features"], t_["image_joint"], t_["text"]
    t = p["visual_token_num"]
    sign = p.get("relevance_sign", -1)
    rel = (sign * (F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).T)).mean(dim=-1)
    rel = (rel - rel.min() + 1e-6) / (rel.max() - rel.min())
    xn = F.normalize(x, dim=-1)
    sim = xn @ xn.T
    kernel = rel[:, None] * sim * rel[None, :]
    n = x.shape[0]
    cis = torch.zeros((t, n), dtype=torch.float32)
    di2s = torch.diagonal(kernel).clone()
    sel = torch.empty(t, dtype=torch.long)
    for i in range(t):
        j = torch.argmax(di2s)
        sel[i] = j
        eis = (kernel[j] - torch.einsum("t,tn->n", cis[:i, j], cis[:i])) / torch.sqrt(di2s[j])
        cis[i, :] = eis
        di2s -= torch.square(eis)
        di2s[j] = -float("inf")
    return sorted_keep(sel)


# ---------------------------------------------------------------- Redundancy codebook (encode_images)
def codebook(b, p):
    t_ = tensors(b)
    x, cb = t_["features"], t_["codebook"]
    mode, tau = p.get("mode", "A"), p["tau"]
    sim = F.normalize(x, dim=-1) @ F.normalize(cb, dim=-1).T
    L = x.shape[0]
    if mode in ("A", "B"):
        r = sim.max(dim=1).values
        if mode == "A":
            return torch.nonzero(r < tau).flatten().numpy()
        return sorted_keep(torch.argsort(r, stable=True)[: round(L * tau)])
    a = torch.softmax(sim, dim=1)
    if mode == "C":
        a = a * torch.softmax(sim, dim=0)
    r = a.max(dim=1).values
    drop = round(L * (1 - tau))
    thr = r[torch.topk(r, drop).indices[-1]]
    return torch.nonzero(r < thr).flatten().numpy()


# ---------------------------------------------------------------- ToMe (facebookresearch/ToMe merge.py)
def tome_matching(metric, r, class_token):
    t = metric.shape[0]
    r = min(r, (t - (1 if class_token else 0)) // 2)
    metric = metric / metric.norm(dim=-1, keepdim=True)
    a, bm = metric[::2], metric[1::2]
    scores = a @ bm.T
    if class_token:
        scores[0, :] = -math.inf
    node_max, node_idx = scores.max(dim=-1)
    edge_idx = node_max.argsort(dim=-1, descending=True, stable=True)[..., None]
    unm_idx, src_idx = edge_idx[r:, :], edge_idx[:r, :]
    if class_token:
        unm_idx = unm_idx.sort(dim=0)[0]
    dst_idx = node_idx[..., None].gather(dim=0, index=src_idx)

    def merge(x, mode):
        src, dst = x[::2], x[1::2]
        c = x.shape[-1]
        unm = src.gather(dim=0, index=unm_idx.expand(-1, c))
        src = src.gather(dim=0, index=src_idx.expand(-1, c))
        dst = dst.scatter_reduce(0, dst_idx.expand(-1, c), src, reduce=mode)
        return torch.cat([unm, dst], dim=0)

    merge.unm_idx = unm_idx[:, 0]
    return merge


def tome(b, p):
    t_ = tensors(b)
    x = t_["features"]
    n = x.shape[0]
    class_token = bool(p.get("class_token", False))
    size = torch.ones((n, 1), dtype=torch.float32)
    source = torch.eye(n, dtype=torch.float32)  # merge_source: which originals each token holds
    rep = torch.arange(n)
    schedule = p.get("schedule") or [p.get("r", 8)]
    for r in schedule:
        metric = x if "schedule" in p else t_["keys"]
        merge = tome_matching(metric, r, class_token)
        x = merge(x * size, "sum")
        size = merge(size, "sum")
        x = x / size
        source = merge(source, "amax")
        # The token each output sits on: unmerged A tokens, then every B token (which keeps its place).
        rep = torch.cat([rep[::2][merge.unm_idx], rep[1::2]])
    return sorted_keep(rep)


# ---------------------------------------------------------------- VisionZip (clip_encoder.py forward)
def visionzip(b, p):
    t_ = tensors(b)
    attn, keys, hidden = t_["cls_attn"], t_["keys"], t_["features"]
    dominant, contextual = p["dominant"], p["contextual"]
    n = hidden.shape[0]
    attn_sum = attn.sum(dim=0) if attn.ndim == 2 else attn
    dom = torch.topk(attn_sum, dominant - 1).indices
    mask = torch.ones(n, dtype=torch.bool)
    mask[dom] = False
    rest = torch.nonzero(mask).flatten()
    metric = keys[rest] / keys[rest].norm(dim=-1, keepdim=True)
    hidden_rest = hidden[rest]
    step = max(1, len(rest) // contextual)
    target_idx = torch.arange(0, len(rest), step)[:contextual]
    tmask = torch.zeros(len(rest), dtype=torch.bool)
    tmask[target_idx] = True
    sim = metric[~tmask] @ metric[target_idx].T
    assign = sim.argmax(dim=1)
    counts = torch.bincount(assign, minlength=contextual).clamp(min=1).unsqueeze(-1).to(hidden.dtype)
    agg = torch.zeros((contextual, hidden.shape[1]), dtype=hidden.dtype)
    agg.index_add_(0, assign, hidden_rest[~tmask])
    _contextual_tokens = hidden_rest[target_idx] + agg / counts
    return sorted_keep(torch.cat([dom, rest[target_idx]]))


# ---------------------------------------------------------------- PruMerge (clip_encoder.py)
def prumerge(b, p):
    t_ = tensors(b)
    a, keys, x = t_["llm_attn"], t_["keys"], t_["features"]
    n = x.shape[0]
    q = torch.quantile(a, torch.tensor([0.25, 0.75], dtype=a.dtype))
    upper = q[1] + 1.5 * (q[1] - q[0])
    ratio = float((a > upper).sum()) / n
    idx = torch.topk(a, int(n * ratio)).indices
    kn = F.normalize(keys, dim=-1)
    knn = min(p.get("knn", 32), n - 1)
    merged = []
    for i in idx.tolist():  # the official code loops over the kept tokens
        others = torch.cat([torch.arange(0, i), torch.arange(i + 1, n)])
        cos = kn[others] @ kn[i]
        nn = others[torch.topk(cos, knn).indices]
        merged.append(x[i] + (x[nn] * a[nn, None]).sum(dim=0))
    return sorted_keep(idx)


# ---------------------------------------------------------------- FastV (modeling_llama.py)
def fastv(b, p):
    a = tensors(b)["llm_attn"]
    a = a[-1] if a.ndim == 2 else a
    return sorted_keep(torch.topk(a, p["attention_rank"]).indices)


METHODS = {
    **np_ref.METHODS,
    "gprune": gprune,
    "divprune": divprune,
    "cdpruner": cdpruner,
    "codebook": codebook,
    "tome": tome,
    "visionzip": visionzip,
    "prumerge": prumerge,
    "fastv": fastv,
}


def matmul_peak():
    out = {}
    for label, (m, k, n) in {"1024x1024x1024": (1024, 1024, 1024), "2880x4096x2880": (2880, 4096, 2880)}.items():
        a, bb = torch.randn(m, k), torch.randn(k, n)
        out[label] = np_ref.gflops(lambda: a @ bb, m, k, n)
    out["torch"] = torch.__version__
    out["threads"] = torch.get_num_threads()
    return out


if __name__ == "__main__":
    np_ref.serve(METHODS, {}, matmul_peak)
