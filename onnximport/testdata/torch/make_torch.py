import torch, numpy as np, sys, os
torch.manual_seed(0)
out = sys.argv[1]
class Flat(torch.nn.Module):
    def forward(self, x): return x.view(x.size(0), -1)
models = {
  "mlp": (torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)), (1, 1, 28, 28), torch.float32),
  "bncnn": (torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.MaxPool2d(2), Flat(), torch.nn.Linear(4*14*14, 10)), (1, 1, 28, 28), torch.float32),
  "lngelu": (torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.LayerNorm(32), torch.nn.GELU(), torch.nn.Linear(32, 4)), (2, 16), torch.float32),
  "dwsep": (torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.Hardswish(), torch.nn.Conv2d(8, 8, 3, padding=1, groups=8), torch.nn.ReLU6(), torch.nn.Conv2d(8, 16, 1), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 5)), (1, 3, 16, 16), torch.float32),
  "convt": (torch.nn.Sequential(torch.nn.ConvTranspose2d(2, 3, 3, stride=2), torch.nn.Upsample(scale_factor=2, mode="nearest")), (1, 2, 5, 5), torch.float32),
  "embed": (torch.nn.Sequential(torch.nn.Embedding(20, 6), torch.nn.Flatten(), torch.nn.Linear(6*5, 3)), (2, 5), torch.int64),
}
for name, (m, shape, dt) in models.items():
    m.eval()
    for p in m.modules():
        if isinstance(p, torch.nn.BatchNorm2d):
            p.running_mean.uniform_(-0.5, 0.5); p.running_var.uniform_(0.5, 1.5)
    x = torch.randint(0, 20, shape) if dt == torch.int64 else torch.randn(shape)
    with torch.no_grad(): y = m(x)
    torch.onnx.export(m, x, os.path.join(out, name + ".onnx"), opset_version=13)
    np.save(os.path.join(out, name + "_x.npy"), x.numpy()); np.save(os.path.join(out, name + "_y.npy"), y.numpy())
    print(name, tuple(y.shape))
