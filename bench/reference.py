#!/usr/bin/env python3
"""PruneLens benchmark reference: each pruning method as the official code computes it, in NumPy.

Written from ../shared/docs/ALGORITHMS.md with the same tensor operations as the official repositories
(float32, dense similarity matrices, G-Prune's `matrix_power`, DivPrune's `index_select` + min loop,
CDPruner's einsum Cholesky update, ToMe's bipartite matching with scatter-reduce and source matrices).
F³A has no official code: its reference is a direct NumPy reading of §4.3. This file is benchmark
material only (npm run bench); PruneLens never runs it.

Protocol (bench/scaling.ts drives it): one JSON request per stdin line, one JSON reply per stdout line.
  {"cmd": "peak"}                                   -> float32 matmul GFLOP/s at 1024 and 2880x4096
  {"cmd": "run", "npz": path, "method": id, "params": {...}, "runs": r}
                                                    -> {"ms": [...], "keep": [...]}
  {"cmd": "part", "npz": path, "part": id, "runs": r, "untimed": u}
                                                    -> {"ms": [...]}: one operation of a method (PARTS)
  {"cmd": "quit"}
`reference.py --once npz method params-json` runs one method once and prints {"ms", "maxrss_kb", "keep"}.
"""
import json
import math
import resource
import sys
import time

import numpy as np

EPS = 1e-12


def normalize(x):
    """torch.nn.functional.normalize: x / max(||x||, eps) along the last axis."""
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, EPS)


def softmax(z, axis):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def topk_desc(v, k):
    """torch.topk(v, k).indices (ties: lower index first, as PruneLens ranks)."""
    return np.argsort(-v, kind="stable")[:k]


def round_half_up(x):
    return int(math.floor(x + 0.5))


# ---------------------------------------------------------------- G-Prune (jytmelon/G-Prune llava_arch.py)
def gprune_transition(x, theta, temp):
    """Cosine graph, threshold, temperature, mask and row softmax: steps 1-5 of ALGORITHMS.md section 2.3."""
    xn = normalize(x)
    sim = xn @ xn.T
    sim = np.where(sim < theta, np.float32(0), sim)
    z = sim / np.float32(temp)
    z[np.abs(z) < 1e-6] = -5000
    return softmax(z, axis=1)


def gprune(b, p):
    x = b["features"]
    theta, temp, it, ratio = p.get("theta", 0.5), p.get("temperature", 0.03), p.get("iterate_num", 5), p["keep_ratio"]
    norms = np.linalg.norm(x, axis=-1)
    trans = gprune_transition(x, theta, temp)
    degree = (trans > 0).sum(axis=1)
    power = np.linalg.matrix_power(trans, it)
    score = (norms @ power) / degree
    k = int(ratio * x.shape[0])
    return np.sort(topk_desc(score, k))


# ---------------------------------------------------------------- DivPrune (vbdi/divprune llava_arch.py)
def divprune(b, p):
    x = b["features"]
    n = x.shape[0]
    k = int(round(p["ratio"] * n))
    dist = 1.0 - normalize(x) @ normalize(x).T
    s = np.empty(k, dtype=np.int64)
    for i in range(k):
        if i == 0:
            scores = np.partition(dist, 1, axis=0)[1]  # topk(2, largest=False).values[1]
        else:
            scores = dist[s[:i]].min(axis=0)  # index_select(selected rows), min over them
        s[i] = int(np.argmax(scores))
    return np.sort(s)


# ---------------------------------------------------------------- CDPruner (Theia-4869/CDPruner encode_images)
def cdpruner(b, p):
    x, img, txt = b["features"], b["image_joint"], b["text"]
    t = p["visual_token_num"]
    sign = p.get("relevance_sign", -1)
    rel = (sign * (normalize(img) @ normalize(txt).T)).mean(axis=-1)
    rel = (rel - rel.min() + 1e-6) / (rel.max() - rel.min())
    xn = normalize(x)
    sim = xn @ xn.T
    kernel = rel[:, None] * sim * rel[None, :]
    n = x.shape[0]
    cis = np.zeros((t, n), dtype=np.float32)
    di2s = np.diag(kernel).copy()
    sel = []
    for i in range(t):
        j = int(np.argmax(di2s))
        sel.append(j)
        eis = (kernel[j] - cis[:i, j] @ cis[:i]) / np.sqrt(di2s[j])
        cis[i] = eis
        di2s -= eis * eis
        di2s[j] = -np.inf
    return np.sort(np.array(sel))


# ---------------------------------------------------------------- Redundancy codebook (encode_images)
def codebook(b, p):
    x, cb = b["features"], b["codebook"]
    mode, tau = p.get("mode", "A"), p["tau"]
    sim = normalize(x) @ normalize(cb).T
    L = x.shape[0]
    if mode in ("A", "B"):
        r = sim.max(axis=1)
        if mode == "A":
            return np.nonzero(r < tau)[0]
        return np.sort(np.argsort(r, kind="stable")[: round(L * tau)])
    a = softmax(sim, axis=1)
    if mode == "C":
        a = a * softmax(sim, axis=0)
    r = a.max(axis=1)
    drop = round(L * (1 - tau))
    thr = r[topk_desc(r, drop)[-1]]
    return np.nonzero(r < thr)[0]


# ---------------------------------------------------------------- ToMe (facebookresearch/ToMe merge.py)
def tome_matching(metric, r, class_token):
    t = metric.shape[0]
    r = min(r, (t - (1 if class_token else 0)) // 2)
    metric = normalize(metric)
    a, bm = metric[::2], metric[1::2]
    scores = a @ bm.T
    if class_token:
        scores[0, :] = -np.inf
    node_max = scores.max(axis=-1)
    node_idx = scores.argmax(axis=-1)
    edge_idx = np.argsort(-node_max, kind="stable")
    unm_idx, src_idx = edge_idx[r:], edge_idx[:r]
    if class_token:
        unm_idx = np.sort(unm_idx)
    dst_idx = node_idx[src_idx]

    def merge(x, reduce):
        src, dst = x[::2], x[1::2].copy()
        unm = src[unm_idx]
        if reduce == "sum":
            np.add.at(dst, dst_idx, src[src_idx])
        else:
            np.maximum.at(dst, dst_idx, src[src_idx])
        return np.concatenate([unm, dst], axis=0)

    merge.unm_idx = unm_idx
    return merge


def tome(b, p):
    x = b["features"].astype(np.float32)
    n = x.shape[0]
    class_token = bool(p.get("class_token", False))
    size = np.ones((n, 1), dtype=np.float32)
    source = np.eye(n, dtype=np.float32)  # merge_source: which originals each token holds
    rep = np.arange(n)
    schedule = p.get("schedule") or [p.get("r", 8)]
    for r in schedule:
        metric = x if "schedule" in p else b["keys"]
        merge = tome_matching(metric, r, class_token)
        x = merge(x * size, "sum")
        size = merge(size, "sum")
        x = x / size
        source = merge(source, "amax")
        # The token each output sits on: unmerged A tokens, then every B token (which keeps its place).
        rep = np.concatenate([rep[::2][merge.unm_idx], rep[1::2]])
    return np.sort(rep)


# ---------------------------------------------------------------- VisionZip (clip_encoder.py forward)
def visionzip(b, p):
    attn, keys, hidden = b["cls_attn"], b["keys"], b["features"]
    dominant, contextual = p["dominant"], p["contextual"]
    n = hidden.shape[0]
    attn_sum = attn.sum(axis=0) if attn.ndim == 2 else attn
    dom = topk_desc(attn_sum, dominant - 1)
    mask = np.ones(n, dtype=bool)
    mask[dom] = False
    rest = np.nonzero(mask)[0]
    metric = normalize(keys[rest])
    hidden_rest = hidden[rest]
    step = max(1, len(rest) // contextual)
    target_idx = np.arange(0, len(rest), step)[:contextual]
    tmask = np.zeros(len(rest), dtype=bool)
    tmask[target_idx] = True
    sim = metric[~tmask] @ metric[target_idx].T
    assign = sim.argmax(axis=1)
    counts = np.bincount(assign, minlength=contextual).clip(min=1)[:, None].astype(np.float32)
    agg = np.zeros((contextual, hidden.shape[1]), dtype=np.float32)
    np.add.at(agg, assign, hidden_rest[~tmask])
    _contextual_tokens = hidden_rest[target_idx] + agg / counts
    return np.sort(np.concatenate([dom, rest[target_idx]]))


# ---------------------------------------------------------------- PruMerge (clip_encoder.py)
def prumerge(b, p):
    a = b["llm_attn"]  # the bench maps PruMerge's [CLS] attention row onto the 1-D llm_attn array
    keys, x = b["keys"], b["features"]
    n = x.shape[0]
    q1, q3 = np.percentile(a, 25), np.percentile(a, 75)
    upper = q3 + 1.5 * (q3 - q1)
    ratio = float((a > upper).sum()) / n
    idx = topk_desc(a, int(n * ratio))
    kn = normalize(keys)
    knn = min(p.get("knn", 32), n - 1)
    others_mask = np.ones(n, dtype=bool)
    merged = []
    for i in idx:  # the official code loops over the kept tokens
        others_mask[i] = False
        others = np.nonzero(others_mask)[0]
        others_mask[i] = True
        cos = kn[others] @ kn[i]
        nn = others[np.argpartition(-cos, knn - 1)[:knn]]
        merged.append(x[i] + (x[nn] * a[nn, None]).sum(axis=0))
    return np.sort(idx)


# ---------------------------------------------------------------- FastV (modeling_llama.py)
def fastv(b, p):
    a = b["llm_attn"]
    a = a[-1] if a.ndim == 2 else a
    return np.sort(topk_desc(a, p["attention_rank"]))


# ---------------------------------------------------------------- random and uniform baselines
def mulberry32(seed):
    state = seed & 0xFFFFFFFF

    def nxt():
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = state
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return nxt


def random_baseline(b, p):
    n = b["features"].shape[0]
    rng = mulberry32(p.get("seed", 0))
    prio = np.array([rng() for _ in range(n)])
    return np.sort(topk_desc(prio, p["k"]))


def uniform(b, p):
    h, w = (int(v) for v in b["grid"])
    k = p["k"]
    gh = min(h, max(1, round(math.sqrt(k * h / w))))
    gw = min(w, max(1, math.ceil(k / gh)))
    if gh * gw < k:
        gh = min(h, math.ceil(k / gw))
    rows = np.floor((np.arange(gh) + 0.5) * h / gh).astype(int)
    cols = np.floor((np.arange(gw) + 0.5) * w / gw).astype(int)
    points = (rows[:, None] * w + cols[None, :]).ravel()
    keep = points[np.floor((np.arange(k) + 0.5) * len(points) / k).astype(int)]
    tr, tc = np.divmod(np.arange(h * w), w)
    kr, kc = np.divmod(keep, w)
    _coverage = -np.hypot(tr[:, None] - kr[None, :], tc[:, None] - kc[None, :]).min(axis=1)
    return keep


# ---------------------------------------------------------------- F³A (ALGORITHMS.md §4.3, PROPOSED)
_WIRING = {}


def head_wiring(h, d, m, s):
    """Frozen head h: m cells of s distinct coordinates from mulberry32(1234 + h); built once per (h, d)."""
    key = (h, d, m, s)
    if key not in _WIRING:
        rng = mulberry32(1234 + h)
        w = np.zeros((m, d), dtype=np.float64)
        for c in range(m):
            got = []
            while len(got) < s:
                j = int(rng() * d)
                if j not in got:
                    got.append(j)
            w[c, got] = 1.0
        _WIRING[key] = w
    return _WIRING[key]


def wta(z, k):
    """Binary winner-take-all tags: the k largest of each row."""
    idx = np.argpartition(-z, k - 1, axis=1)[:, :k]
    t = np.zeros_like(z, dtype=np.float64)
    np.put_along_axis(t, idx, 1.0, axis=1)
    return t


def minmax(v):
    r = v.max() - v.min()
    return np.full_like(v, 0.5) if r == 0 else (v - v.min()) / r


def f3a(b, p):
    V = b["features"].astype(np.float64)
    cue = b.get("cue")
    h, w = (int(v) for v in b["grid"])
    n, d = V.shape
    B = p["B"]
    mu = V.mean(axis=0)
    vt = normalize(V - mu)
    if cue is None or len(cue) == 0:
        xh = normalize(V)
        raw = -(xh @ normalize(xh.mean(axis=0)))
    else:
        qt = normalize(cue.astype(np.float64) - mu)
        m = min(2048, 8 * d)
        s = max(2, min(16, round_half_up(0.125 * d)))
        k = math.ceil(0.05 * m)
        acc = np.zeros(n)
        for head in range(4):
            W = head_wiring(head, d, m, s)
            tv, tq = wta(vt @ W.T, k), wta(qt @ W.T, k)
            acc += (tv @ tq.T).max(axis=1) / k
        raw = acc / 4
    odour = minmax(raw)

    top = np.sort(odour)[::-1][: math.ceil(0.1 * n)].mean()
    kappa = top - np.median(odour)
    beta, gamma = (0.5, 0.2) if kappa < 0.1 else (0.25, 0.15)
    b_rec, b_comp = round_half_up(gamma * B), round_half_up(beta * B)
    b_loc = B - b_rec - b_comp

    g = max(2, round_half_up(math.sqrt(n / 36)))
    across = math.ceil(w / g)
    rows, cols = np.divmod(np.arange(n), w)
    cell = (rows // g) * across + cols // g
    ncell = int(cell.max()) + 1
    members = [np.nonzero(cell == c)[0] for c in range(ncell)]
    O = np.array([np.sort(odour[mem])[::-1][: math.ceil(len(mem) / 4)].mean() for mem in members])
    pw = softmax(O / 0.1, axis=0)
    cap = np.array([math.ceil(0.5 * len(mem)) for mem in members])
    q = np.zeros(ncell, dtype=int)
    rem = b_loc
    while rem > 0 and (q < cap).any():
        open_ = np.nonzero(q < cap)[0]
        raw_q = pw[open_] / pw[open_].sum() * rem
        add = np.minimum(np.floor(raw_q).astype(int), cap[open_] - q[open_])
        q[open_] += add
        left = rem - add.sum()
        frac = raw_q - np.floor(raw_q)
        for c in open_[np.lexsort((open_, -frac))]:
            if left == 0:
                break
            if q[c] < cap[c]:
                q[c] += 1
                left -= 1
        rem = left

    taken = np.zeros(n, dtype=bool)
    order = []
    sigma2 = 2 * (g / 2) ** 2
    reach = g / 2 + 1
    for c in np.nonzero(q > 0)[0]:
        mem = members[c]
        start = mem[np.argmax(odour[mem])]
        pr, pc = float(rows[start]), float(cols[start])
        for _ in range(3):
            wgt = odour * np.exp(-((rows - pr) ** 2 + (cols - pc) ** 2) / sigma2)
            tot = wgt.sum()
            if tot == 0:
                break
            pr, pc = (wgt * rows).sum() / tot, (wgt * cols).sum() / tot
        local = odour * np.exp(-((rows - pr) ** 2 + (cols - pc) ** 2) / sigma2)
        region = np.nonzero(~taken & (np.abs(rows - pr) <= reach) & (np.abs(cols - pc) <= reach))[0]
        pick = region[np.lexsort((region, -local[region]))][: q[c]]
        taken[pick] = True
        order.extend(pick.tolist())
    for i in np.lexsort((np.arange(n), -odour)):
        if len(order) >= b_loc:
            break
        if not taken[i]:
            taken[i] = True
            order.append(int(i))

    red = np.full(n, -1.0)
    crowd = np.zeros(n)

    def absorb(j):
        np.maximum(red, vt @ vt[j], out=red)
        np.maximum(crowd, np.exp(-((rows - rows[j]) ** 2 + (cols - cols[j]) ** 2) / (2 * 1.5**2)), out=crowd)

    for j in order:
        absorb(j)
    for _ in range(b_comp):
        if taken.all():
            break
        gain = odour - 0.5 * np.maximum(red, 0) - 0.25 * crowd
        gain[taken] = -np.inf
        j = int(np.argmax(gain))
        taken[j] = True
        order.append(j)
        absorb(j)

    cov = red.copy()
    for _ in range(b_rec):
        if taken.all():
            break
        U = np.array([(1 - np.clip(cov[mem], -1, 1)).mean() if (~taken[mem]).any() else -np.inf for mem in members])
        mem = members[int(np.argmax(U))]
        medoid = (vt[mem] @ vt[mem].T).mean(axis=1)
        medoid[taken[mem]] = -np.inf
        j = int(mem[np.argmax(medoid)])
        taken[j] = True
        order.append(j)
        np.maximum(cov, vt @ vt[j], out=cov)
    return np.sort(np.array(order))


METHODS = {
    "gprune": gprune,
    "divprune": divprune,
    "cdpruner": cdpruner,
    "codebook": codebook,
    "tome": tome,
    "visionzip": visionzip,
    "prumerge": prumerge,
    "fastv": fastv,
    "random": random_baseline,
    "uniform": uniform,
    "f3a": f3a,
}

# Single operations of the methods above (bench/limits.ts): inputs prepared once per bundle, the op timed alone.
PARTS = {
    "gprune.gram": (lambda b: (normalize(b["features"]),), lambda xn: xn @ xn.T),
    "gprune.matrix_power": (lambda b: (gprune_transition(b["features"], 0.5, 0.03),), lambda t: np.linalg.matrix_power(t, 5)),
    "codebook.gemm": (lambda b: (normalize(b["features"]), normalize(b["codebook"])), lambda xn, cn: xn @ cn.T),
}
_PART_INPUTS = {}


def part_inputs(parts, path, name):
    key = (path, name)
    if key not in _PART_INPUTS:
        _PART_INPUTS.clear()
        _PART_INPUTS[key] = parts[name][0](load(path))
    return _PART_INPUTS[key]


_BUNDLES = {}


def load(path):
    if path not in _BUNDLES:
        with np.load(path) as z:
            _BUNDLES.clear()  # one bundle at a time keeps memory flat
            _BUNDLES[path] = {k: z[k] for k in z.files if not k.startswith("__")}
    return _BUNDLES[path]


def timed(fn, bundle, params):
    t0 = time.perf_counter()
    keep = fn(bundle, params)
    return (time.perf_counter() - t0) * 1e3, keep


def gflops(fn, m, k, n):
    """Median GFLOP/s of five timed m×k×n products after one untimed call."""
    fn()
    ts = []
    for _ in range(5):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return 2 * m * k * n / sorted(ts)[len(ts) // 2] / 1e9


def peak():
    out = {}
    for label, (m, k, n) in {"1024x1024x1024": (1024, 1024, 1024), "2880x4096x2880": (2880, 4096, 2880)}.items():
        a = np.random.default_rng(0).standard_normal((m, k), dtype=np.float32)
        bb = np.random.default_rng(1).standard_normal((k, n), dtype=np.float32)
        out[label] = gflops(lambda: a @ bb, m, k, n)
    out["numpy"] = np.__version__
    out["blas_libraries"] = getattr(np.__config__, "blas_opt_info", {}).get("libraries", [])
    return out


def peak_rss_kb():
    """This process image's peak RSS (VmHWM; ru_maxrss would include the parent's memory copied at fork)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def serve(methods, parts, peak_fn):
    """The protocol above over `methods` (id -> fn(bundle, params) -> kept indices); reference_torch.py reuses it."""
    if len(sys.argv) > 1 and sys.argv[1] == "--once":
        npz, method, params = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
        ms, keep = timed(methods[method], load(npz), params)
        rss = peak_rss_kb()
        print(json.dumps({"ms": ms, "maxrss_kb": rss, "keep": [int(i) for i in keep]}))
        return
    for line in sys.stdin:
        req = json.loads(line)
        if req["cmd"] == "quit":
            break
        try:
            if req["cmd"] == "peak":
                reply = peak_fn()
            elif req["cmd"] == "part":
                args, op = part_inputs(parts, req["npz"], req["part"]), parts[req["part"]][1]
                for _ in range(req.get("untimed", 0)):
                    op(*args)
                ms = []
                for _ in range(req.get("runs", 1)):
                    t0 = time.perf_counter()
                    op(*args)
                    ms.append((time.perf_counter() - t0) * 1e3)
                reply = {"ms": ms}
            else:
                fn, bundle = methods[req["method"]], load(req["npz"])
                ms, keep = [], None
                for _ in range(req.get("untimed", 0)):
                    fn(bundle, req["params"])
                for _ in range(req.get("runs", 1)):
                    t, keep = timed(fn, bundle, req["params"])
                    ms.append(t)
                reply = {"ms": ms, "keep": [int(i) for i in keep]}
        except Exception as err:  # reported to the bench, which prints it in the table
            reply = {"error": f"{type(err).__name__}: {err}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve(METHODS, PARTS, peak)
