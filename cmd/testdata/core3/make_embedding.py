# Makes emb_fixed.onnx / emb_dynamic.onnx (torch 1.13: Embedding(9,4) over
# int64 ids (2,3), flattened, Linear(12,3)), ids.npy and PyTorch's output
# emb_want.npy, for cmd/core3_test.go: python3 make_embedding.py
import torch, numpy as np
torch.manual_seed(0)
class M(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.e = torch.nn.Embedding(9, 4); s.l = torch.nn.Linear(12, 3)
    def forward(s, ids): return s.l(s.e(ids).reshape(ids.shape[0], -1))
m = M().eval(); ids = torch.tensor([[0, 8, 3], [5, 5, 1]], dtype=torch.int64)
torch.onnx.export(m, (ids,), "emb_fixed.onnx", input_names=["ids"], output_names=["y"], opset_version=13)
torch.onnx.export(m, (ids,), "emb_dynamic.onnx", input_names=["ids"], output_names=["y"],
                  dynamic_axes={"ids": {0: "n"}, "y": {0: "n"}}, opset_version=13)
np.save("ids.npy", ids.numpy()); np.save("emb_want.npy", m(ids).detach().numpy())
