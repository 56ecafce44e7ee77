"""Conv AC-GAN hyper-parameter sweep in PyTorch: a port of src/models/gan.rs (ConvAcGan) and
src/train/gan.rs (discriminator_step / generator_step), scored like src/analysis/gan_quality.rs
with the shipped MNIST classifier (data/checkpoints/mnist-classifier). It was used once, on a
lent H200 GPU, to choose the conv AC-GAN's defaults; the shipped model is trained by the Rust
code on CPU. Results of that run: data/conv_acgan_sweep.json (README, "GANs").

  python3 scripts/conv_acgan_sweep.py check            # scores the shipped Rust generator
  python3 scripts/conv_acgan_sweep.py nosched_dfc0     # one variant of VARIANTS, 30 epochs
  python3 scripts/conv_acgan_sweep.py nosched_dfc0@3   # the same with seed 3, 20 epochs

Environment: ROOT (repository root, default .), DEV (cuda or cpu), OUT (result folder), LIMIT
(steps per epoch, for smoke tests). Needs torch and numpy; MNIST in data/full/mnist.
The 12 variants ran as 12 processes on one H200 at once: about 270 s for 30 epochs each."""
import gzip, json, math, os, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

def load_file(path):
    import struct
    raw = open(path, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n]); base = 8 + n; out = {}
    for k, v in head.items():
        if k == "__metadata__": continue
        assert v["dtype"] == "F32", v
        a, b = v["data_offsets"]
        out[k] = torch.tensor(np.frombuffer(raw[base + a:base + b], np.float32).reshape(v["shape"]).copy())
    return out

dev = os.environ.get("DEV", "cuda")
ROOT = os.environ.get("ROOT", ".")

def idx(path):
    raw = gzip.open(path).read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)

def mnist(split):
    p = f"{ROOT}/data/full/mnist/{split}"
    x = idx(p + "-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    y = idx(p + "-labels-idx1-ubyte.gz").astype(np.int64)
    return torch.tensor(x).view(-1, 1, 28, 28).to(dev), torch.tensor(y).to(dev)

class Clf(nn.Module):
    def __init__(s):
        super().__init__()
        s.conv1 = nn.Conv2d(1, 32, 5); s.conv2 = nn.Conv2d(32, 64, 5)
        s.fc1 = nn.Linear(1024, 128); s.fc2 = nn.Linear(128, 10)
    def features(s, x):
        x = F.relu(F.max_pool2d(s.conv1(x), 2)); x = F.relu(F.max_pool2d(s.conv2(x), 2))
        return F.relu(s.fc1(x.view(-1, 1024)))
    def forward(s, x): return s.fc2(s.features(x))

class G(nn.Module):
    def __init__(s, c, nz=100):
        super().__init__(); s.c = c
        s.fc = nn.Linear(nz + 10, 2 * c * 49); s.bn0 = nn.BatchNorm2d(2 * c)
        s.up1 = nn.ConvTranspose2d(2 * c, c, 4, 2, 1); s.bn1 = nn.BatchNorm2d(c)
        s.up2 = nn.ConvTranspose2d(c, 1, 4, 2, 1)
    def forward(s, z, y):
        x = s.fc(torch.cat([z, F.one_hot(y, 10).float()], 1)).view(-1, 2 * s.c, 7, 7)
        x = F.relu(s.bn0(x)); x = F.relu(s.bn1(s.up1(x))); return torch.tanh(s.up2(x))

class D(nn.Module):
    def __init__(s, c, p, bn=True):
        super().__init__(); s.c = c; s.p = p
        s.conv1 = nn.Conv2d(1, c, 4, 2, 1); s.conv2 = nn.Conv2d(c, 2 * c, 4, 2, 1)
        s.bn2 = nn.BatchNorm2d(2 * c) if bn else nn.Identity()
        s.adv = nn.Linear(2 * c * 49, 1); s.cls = nn.Linear(2 * c * 49, 10)
    def forward(s, x):
        h = F.dropout(F.leaky_relu(s.conv1(x), 0.2), s.p, s.training)
        h = F.dropout(F.leaky_relu(s.bn2(s.conv2(h)), 0.2), s.p, s.training).view(-1, 2 * s.c * 49)
        return s.adv(h).view(-1), s.cls(h)

@torch.no_grad()
def tch_init(m, bn_one=False):
    """tch 0.26's default init (the Rust models' until this sweep): weights uniform with bound
    sqrt(6 / fan_in), linear biases uniform 1/sqrt(fan_in), conv biases 0, batch-norm scales
    uniform in [0, 1] (or 1 with bn_one)."""
    for mod in m.modules():
        if isinstance(mod, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            w = mod.weight; fan = w.shape[1] * (w[0, 0].numel() if w.dim() > 2 else 1)
            w.uniform_(-math.sqrt(6 / fan), math.sqrt(6 / fan))
            if isinstance(mod, nn.Linear): mod.bias.uniform_(-1 / math.sqrt(fan), 1 / math.sqrt(fan))
            else: mod.bias.zero_()
        elif isinstance(mod, nn.BatchNorm2d):
            (mod.weight.fill_(1.0) if bn_one else mod.weight.uniform_(0, 1)); mod.bias.zero_()

def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))

def sqrtm_trace(a, b):
    ev = np.linalg.eigvals(a @ b)
    return float(np.sqrt(np.clip(np.real(ev), 0, None)).sum())

def fd(fa, fb):
    fa, fb = fa.double().cpu().numpy(), fb.double().cpu().numpy()
    ma, mb = fa.mean(0), fb.mean(0); ca, cb = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
    return float(((ma - mb) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * sqrtm_trace(ca, cb))

@torch.no_grad()
def score(g, clf, test_feats, nz=100, per=1000, seed=7):
    g.eval(); hits = 0; feats = []
    gen = torch.Generator(device=dev).manual_seed(seed)
    for c in range(10):
        z = torch.randn(per, nz, device=dev, generator=gen)
        y = torch.full((per,), c, device=dev, dtype=torch.long)
        x = (g(z, y) + 1) / 2
        hits += (clf(x).argmax(1) == c).sum().item(); feats.append(clf.features(x))
    g.train()
    return hits / (10 * per), fd(torch.cat(feats), test_feats)

def run(name, c=32, drop=0.3, sched=((8, 2),), d_fake_cls=1.0, g_cls=1.0, epochs=30, lr=2e-4,
        bs=128, d_bn=True, g_lr=None, seed=5, evals=(5, 10, 15, 20, 25, 30), init="torch"):
    torch.manual_seed(seed)
    xtr, ytr = mnist("train"); xte, _ = mnist("t10k")
    clf = Clf().to(dev); clf.load_state_dict(load_file(f"{ROOT}/data/checkpoints/mnist-classifier/classifier.safetensors")); clf.eval()
    with torch.no_grad(): test_feats = clf.features(xte)
    g, d = G(c).to(dev), D(c, drop, d_bn).to(dev)
    if init != "torch":
        tch_init(g, init == "tch_bn1"); tch_init(d, init == "tch_bn1")
    go = torch.optim.Adam(g.parameters(), g_lr or lr, betas=(0.5, 0.999))
    do = torch.optim.Adam(d.parameters(), lr, betas=(0.5, 0.999))
    out = {"name": name, "cfg": dict(c=c, drop=drop, sched=sched, d_fake_cls=d_fake_cls, g_cls=g_cls, epochs=epochs, lr=lr, bs=bs, d_bn=d_bn, g_lr=g_lr, init=init), "evals": []}
    t0 = time.time(); n = xtr.shape[0]
    for ep in range(1, epochs + 1):
        k = 1
        for e, s in sched:
            if ep >= e: k = s
        perm = torch.randperm(n, device=dev); pr = pf = 0.0; cnt = 0
        for step in range(min(math.ceil(n / bs), int(os.environ.get("LIMIT", "100000")))):
            ib = perm[step * bs:(step + 1) * bs]
            real = xtr[ib] * 2 - 1; y = ytr[ib]; b = real.shape[0]
            with torch.no_grad(): fake = g(torch.randn(b, 100, device=dev), y)
            ar, cr = d(real); af, cf = d(fake)
            loss = bce(ar, 0.9) + bce(af, 0.0) + F.cross_entropy(cr, y) + d_fake_cls * F.cross_entropy(cf, y)
            do.zero_grad(set_to_none=True); loss.backward(); do.step()
            if step % 50 == 0:
                pr += torch.sigmoid(ar).mean().item(); pf += torch.sigmoid(af).mean().item(); cnt += 1
            if step % k == k - 1:
                for p_ in d.parameters(): p_.requires_grad_(False)
                yg = torch.randint(0, 10, (b,), device=dev)
                a, cl = d(g(torch.randn(b, 100, device=dev), yg))
                gl = bce(a, 1.0) + g_cls * F.cross_entropy(cl, yg)
                go.zero_grad(set_to_none=True); gl.backward(); go.step()
                for p_ in d.parameters(): p_.requires_grad_(True)
        if ep in evals:
            cons, f = score(g, clf, test_feats)
            out["evals"].append(dict(epoch=ep, consistency=cons, fd=f, d_real=pr / cnt, d_fake=pf / cnt, secs=time.time() - t0))
            print(name, out["evals"][-1], flush=True)
            os.makedirs(os.environ.get("OUT", "/tmp"), exist_ok=True)
            json.dump(out, open(f"{os.environ.get('OUT', '/tmp')}/{name}.json", "w"), indent=1)

def check_port():
    """Scores the shipped Rust generator with this port: must match the Rust probe (0.8989)."""
    _, _ = None, None
    xte, _ = mnist("t10k")
    clf = Clf().to(dev); clf.load_state_dict(load_file(f"{ROOT}/data/checkpoints/mnist-classifier/classifier.safetensors")); clf.eval()
    with torch.no_grad(): tf = clf.features(xte)
    g = G(32).to(dev); g.load_state_dict(load_file(f"{ROOT}/data/checkpoints/gan-conv-acgan/generator.safetensors"), strict=False)
    print("port check (shipped Rust conv generator):", score(g, clf, tf), flush=True)

VARIANTS = {
    "base": dict(),
    "nosched": dict(sched=()),
    "nosched_dfc0": dict(sched=(), d_fake_cls=0.0),
    "sched_dfc0": dict(d_fake_cls=0.0),
    "c64": dict(c=64),
    "c64_nosched": dict(c=64, sched=()),
    "c64_nosched_dfc0": dict(c=64, sched=(), d_fake_cls=0.0),
    "nosched_drop5": dict(sched=(), drop=0.5),
    "nosched_gcls3": dict(sched=(), g_cls=3.0),
    "nosched_nobn": dict(sched=(), d_bn=False),
    "c48_nosched_dfc0": dict(c=48, sched=(), d_fake_cls=0.0),
    "nosched_dfc0_gcls3": dict(sched=(), d_fake_cls=0.0, g_cls=3.0),
    "tch_nosched_dfc0": dict(sched=(), d_fake_cls=0.0, init="tch"),
    "tchbn1_nosched_dfc0": dict(sched=(), d_fake_cls=0.0, init="tch_bn1"),
    "tch_nosched_dfc0_gcls3": dict(sched=(), d_fake_cls=0.0, g_cls=3.0, init="tch"),
    "tch_base": dict(init="tch"),
}

if __name__ == "__main__":
    if sys.argv[1] == "smoke":
        run("smoke", epochs=2, evals=(2,), sched=((2, 2),))
    elif sys.argv[1] == "check":
        check_port()
    elif "@" in sys.argv[1]:
        v, sd = sys.argv[1].split("@")
        run(sys.argv[1].replace("@", "_s"), **{**VARIANTS[v], "seed": int(sd), "epochs": 20, "evals": (10, 15, 20)})
    else:
        run(sys.argv[1], **VARIANTS[sys.argv[1]])
