#!/usr/bin/python3
"""PyTorch reference for docs/recurrent.md (gradient flow): first_to_last = |dl/dh[1]| / |dl/dh[T]| on temporal-order
normal (T = 40, front-padded), at initialisation and after training, and the test accuracy (512 sequences).

    /usr/bin/python3 tools/torch_temporal_order_gradflow.py rnn|lstm|gru SEED [course|issue]
    /usr/bin/python3 tools/torch_temporal_order_gradflow.py rnn|lstm|gru --weights RUN/model.safetensors

Recipes: course (the default) = hidden 12, RMSprop lr 1e-3, clip 1 (global norm), cosine over 100 epochs of 31 batches
of 32 = 3100 steps, as loom train --hidden 12 --optimizer rmsprop --lr 0.001 --clip 1 --schedule cosine --epochs 100;
issue = hidden 16, Adam lr 1e-2 constant, 300 steps of 64, no clipping. --weights measures a model Loom trained (its
model.safetensors has PyTorch's keys) on batches drawn here, to cross-check `loom gradflow RUN`.

first_to_last (the definition Loom uses): l = mean cross-entropy of head(h[T]) over a batch of 64, the norm of
dl/dh[t] taken over the whole batch (Frobenius), t = 1 the first step of the padded batch. Also printed: the median
over the 64 sequences of each sequence's own ratio (|dl/dh_b[1]| / |dl/dh_b[T]|), and both on a batch whose 64
sequences all have the full length 40 (so that step 1 is their B, not padding).
"""
import json, random, statistics, struct, sys
import torch, torch.nn as nn

torch.set_num_threads(1)
SYM = "XYabcdBE"
T = 40


def draw(rng, n, full=False):
    """n temporal-order normal sequences (length 30-40, t1 2-5, t2 20-27), one-hot, zero-padded at the front to 40."""
    x = torch.zeros(n, T, 8); y = torch.zeros(n, dtype=torch.long)
    for b in range(n):
        L = T if full else rng.randint(30, 40); t1 = rng.randint(2, 5); t2 = rng.randint(20, 27)
        s = [rng.choice("abcd") for _ in range(L)]; s[0] = "B"; s[-1] = "E"
        a, c = rng.choice("XY"), rng.choice("XY"); s[t1] = a; s[t2] = c
        y[b] = 2 * (a == "Y") + (c == "Y")
        for t, ch in enumerate(s): x[b, T - L + t, SYM.index(ch)] = 1
    return x, y


class M(nn.Module):
    def __init__(s, kind, hidden):
        super().__init__(); s.kind = kind; s.hidden = hidden
        s.rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](8, hidden, batch_first=True)
        s.head = nn.Linear(hidden, 4)

    def forward(s, x):
        return s.head(s.rnn(x)[0][:, -1])


def ratios(m, x, y):
    """(batch first_to_last, median of the per-sequence ratios): step the layer one step at a time, probing dl/dh[t]."""
    n = x.shape[0]; h = torch.zeros(1, n, m.hidden); c = torch.zeros(1, n, m.hidden); probes = []
    for t in range(x.shape[1]):
        if m.kind == "lstm": _, (h, c) = m.rnn(x[:, t:t + 1], (h, c))
        else: _, h = m.rnn(x[:, t:t + 1], h)
        p = torch.zeros_like(h, requires_grad=True); h = h + p; probes.append(p)
    loss = nn.functional.cross_entropy(m.head(h[0]), y)
    first, last = [g[0].double() for g in torch.autograd.grad(loss, [probes[0], probes[-1]])]
    return (first.norm() / last.norm()).item(), statistics.median((first.norm(dim=1) / last.norm(dim=1)).tolist())


def load_safetensors(path):
    raw = open(path, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; header = json.loads(raw[8:8 + n]); out = {}
    for key, v in header.items():
        if key == "__metadata__": continue
        lo, hi = v["data_offsets"]
        out[key] = torch.frombuffer(bytearray(raw[8 + n + lo:8 + n + hi]), dtype=torch.float32).reshape(v["shape"])
    return out


def report(m, seed):
    xt, yt = draw(random.Random(1000 + seed), 512)
    xf, yf = draw(random.Random(2000 + seed), 64, full=True)
    with torch.no_grad(): acc = (m(xt).argmax(1) == yt).float().mean().item()
    mixed, full = ratios(m, xt[:64], yt[:64]), ratios(m, xf, yf)
    return f"first_to_last={mixed[0]:.2g} median={mixed[1]:.2g} full-length: {full[0]:.2g} median={full[1]:.2g} acc={acc:.3f}"


kind = sys.argv[1]
if sys.argv[2] == "--weights":
    state = load_safetensors(sys.argv[3])
    m = M(kind, state["head.weight"].shape[1]); m.load_state_dict(state)
    print(f"pytorch {kind} {sys.argv[3]}: {report(m, 0)}")
    sys.exit(0)
seed = int(sys.argv[2]); recipe = sys.argv[3] if len(sys.argv) > 3 else "course"
torch.manual_seed(seed); rng = random.Random(seed)
if recipe == "course":
    m = M(kind, 12); opt = torch.optim.RMSprop(m.parameters(), lr=1e-3); steps, batch, clip = 3100, 32, 1.0
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
else:
    m = M(kind, 16); opt = torch.optim.Adam(m.parameters(), lr=1e-2); steps, batch, clip, sched = 300, 64, None, None
print(f"pytorch {recipe} {kind} seed={seed} at init: {report(m, seed)}", flush=True)
for step in range(steps):
    x, y = draw(rng, batch)
    loss = nn.functional.cross_entropy(m(x), y)
    opt.zero_grad(); loss.backward()
    if clip: nn.utils.clip_grad_norm_(m.parameters(), clip)
    opt.step()
    if sched: sched.step()
print(f"pytorch {recipe} {kind} seed={seed} trained: {report(m, seed)}")
