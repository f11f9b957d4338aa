#!/usr/bin/python3
"""PyTorch reference for docs/recurrent.md: first_to_last = |dl/dh[1]| / |dl/dh[T]| of a model trained on temporal-order
normal (H = 16, batch 64, Adam 1e-2 constant, 300 steps), at init and after training, and its test accuracy.

    /usr/bin/python3 tools/torch_temporal_order_gradflow.py rnn|lstm|gru SEED
"""
# temporal-order normal, H=16, batch 64, Adam 1e-2 constant, 300 steps; first_to_last = |dl/dh[1]|/|dl/dh[T]|
import sys, random, torch, torch.nn as nn
torch.set_num_threads(1)
SYM = "XYabcdBE"
def draw(rng, n):
    T = 40; x = torch.zeros(n, T, 8); y = torch.zeros(n, dtype=torch.long)
    for b in range(n):
        L = rng.randint(30, 40); t1 = rng.randint(2, 5); t2 = rng.randint(20, 27)
        s = [rng.choice("abcd") for _ in range(L)]; s[0] = "B"; s[-1] = "E"
        a, c = rng.choice("XY"), rng.choice("XY"); s[t1] = a; s[t2] = c
        y[b] = 2 * (a == "Y") + (c == "Y")
        for t, ch in enumerate(s): x[b, T - L + t, SYM.index(ch)] = 1
    return x, y
class M(nn.Module):
    def __init__(s, kind):
        super().__init__(); s.kind = kind
        s.rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](8, 16, batch_first=True); s.head = nn.Linear(16, 4)
def ratio(m, x, y):
    # step the layer one step at a time, probing dl/dh[t]
    n = x.shape[0]; h = torch.zeros(1, n, 16); c = torch.zeros(1, n, 16); probes = []
    for t in range(x.shape[1]):
        if m.kind == "lstm": o, (h, c) = m.rnn(x[:, t:t+1], (h, c))
        else: o, h = m.rnn(x[:, t:t+1], h)
        p = torch.zeros_like(h, requires_grad=True); h = h + p; probes.append(p)
    loss = nn.functional.cross_entropy(m.head(h[0]), y)
    g = torch.autograd.grad(loss, probes)
    return (g[0].norm() / g[-1].norm()).item()
kind, seed = sys.argv[1], int(sys.argv[2])
torch.manual_seed(seed); rng = random.Random(seed)
m = M(kind); opt = torch.optim.Adam(m.parameters(), lr=1e-2)
xt, yt = draw(random.Random(1000 + seed), 512)
r0 = ratio(m, xt[:64], yt[:64])
for step in range(300):
    x, y = draw(rng, 64)
    loss = nn.functional.cross_entropy(m.head(m.rnn(x)[0][:, -1]), y)
    opt.zero_grad(); loss.backward(); opt.step()
with torch.no_grad(): acc = (m.head(m.rnn(xt)[0][:, -1]).argmax(1) == yt).float().mean().item()
print(f"pytorch {kind} seed={seed} init={r0:.2g} trained={ratio(m, xt[:64], yt[:64]):.2g} acc={acc:.3f}")
