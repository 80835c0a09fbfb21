# Makes the bilinear-upsampling fixtures (torch.onnx.export as most call it,
# no dynamic_axes, opset 13; Debian's python3-torch 1.13) with the input and
# PyTorch's output: python3 make_resize.py DIR
import torch, numpy as np, sys, os
torch.manual_seed(1)
out = sys.argv[1]
def up(**kw): return torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.Upsample(mode="bilinear", **kw))
models = {
  "upbil": up(scale_factor=2, align_corners=False),
  "upbilac": up(scale_factor=2, align_corners=True),
  "upbilsize": up(size=(7, 9), align_corners=False),
}
for name, m in models.items():
    m.eval()
    x = torch.randn(1, 2, 5, 6)
    with torch.no_grad(): y = m(x)
    torch.onnx.export(m, x, os.path.join(out, name + ".onnx"), opset_version=13)
    np.save(os.path.join(out, name + "_x.npy"), x.numpy()); np.save(os.path.join(out, name + "_y.npy"), y.numpy())
    print(name, tuple(y.shape))
