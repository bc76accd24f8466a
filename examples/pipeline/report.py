"""Step 3: the report, on stdout."""
import pickle
import sys

with open(sys.argv[1], "rb") as f:
    model = pickle.load(f)
print(f"alpha {model['alpha']:g}: " + " ".join(f"{w:g}" for w in model["weights"]))
