# Makes the .npz fixtures of cmd/core3_test.go: python3 make_core3.py (numpy).
# reg_metrics.json: numpy's mse/mae/r2 are computed by the test itself from
# the predictions infer writes, so only the data sets are made here.
import numpy as np
r = np.random.default_rng(0)
x = r.normal(size=(300, 4)).astype(np.float32)
w = np.array([1, -2, .5, 3], np.float32)
t = (x @ w)[:, None].astype(np.float32)
np.savez("reg.npz", x=x[:240], y=t[:240], x_test=x[240:], y_test=t[240:])
c = np.argmax(x @ r.normal(size=(4, 3)), 1).astype(np.int64)
np.savez("cls.npz", x=x[:240], y=c[:240], x_test=x[240:], y_test=c[240:])
np.savez("nox.npz", y=c)
np.savez("len.npz", x=x, y=c[:10])
np.savez("dtype.npz", x=np.array(["a"] * 300), y=c)
np.save("reg_xtest.npy", x[240:])
