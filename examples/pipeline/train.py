"""Step 2: a model from the rows: each column's mean, scaled by $ALPHA."""
import os
import pickle
import sys

data, out = sys.argv[1], sys.argv[2]
alpha = float(os.environ.get("ALPHA", "1"))
with open(data, "rb") as f:
    rows = pickle.load(f)
weights = [alpha * sum(col) / len(col) for col in zip(*rows)]
with open(out, "wb") as f:
    pickle.dump({"alpha": alpha, "weights": weights}, f)
print(f"train: alpha {alpha:g}", file=sys.stderr)
