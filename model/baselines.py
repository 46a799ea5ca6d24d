#!/usr/bin/python3
"""The product brief's two baselines, on the same data split as train.py.

    /usr/bin/python3 model/baselines.py --data ../shared/data/mnist            # both
    /usr/bin/python3 model/baselines.py --only svc | --only keras [--keras-epochs 6]

1. PCA(100 components) + SVC(rbf, C=10, gamma=0.001) on pixels / 255 (scikit-learn), fitted on the
   54000-image training split; accuracy on the 6000-image validation split and the test set.
2. The Keras-style CNN (Conv32-Conv64-MaxPool-Dropout0.25-Dense128-Dropout0.5-Dense) trained in
   PyTorch with train.py's pipeline (same data mixture, writer splits, augmentation, AdamW +
   one-cycle, seed; 11 outputs, the last "not a digit") for a few epochs; its curves / confusion
   matrix / summary go to model/baselines/.
Results are merged into model/baselines/baselines.json. The keras_cnn result recorded there
predates the mixture: it came from the MNIST-only pipeline (git 855bb37), 10 outputs.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mnist  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "baselines")


def run_svc(data_dir, seed, gamma=0.001):
    from sklearn.decomposition import PCA
    from sklearn.svm import SVC

    d = mnist.load_or_exit(data_dir)
    tr_idx, va_idx = mnist.split_indices()
    X = d["train_images"].reshape(60000, -1).astype(np.float32) / 255.0
    Y = d["train_labels"]
    Xte = d["test_images"].reshape(10000, -1).astype(np.float32) / 255.0
    Yte = d["test_labels"]
    t0 = time.time()
    pca = PCA(n_components=100, random_state=seed).fit(X[tr_idx])
    Ztr, Zva, Zte = pca.transform(X[tr_idx]), pca.transform(X[va_idx]), pca.transform(Xte)
    svc = SVC(kernel="rbf", C=10, gamma=gamma, cache_size=2000)
    svc.fit(Ztr, Y[tr_idx])
    fit_s = time.time() - t0
    pv = svc.predict(Zva)
    pt = svc.predict(Zte)
    res = {"model": f"PCA(100) + SVC(rbf, C=10, gamma={gamma}) on pixels/255",
           "train_size": len(tr_idx), "support_vectors": int(svc.n_support_.sum()),
           "explained_variance": float(pca.explained_variance_ratio_.sum()),
           "val_acc": float((pv == Y[va_idx]).mean()), "val_errors": int((pv != Y[va_idx]).sum()),
           "test_acc": float((pt == Yte).mean()), "test_errors": int((pt != Yte).sum()),
           "fit_s": fit_s, "total_s": time.time() - t0}
    print(f"PCA+SVC (gamma={gamma}): validation {100 * res['val_acc']:.2f}% ({res['val_errors']} errors), "
          f"test {100 * res['test_acc']:.2f}% ({res['test_errors']} errors), fit {fit_s:.0f}s", flush=True)
    return res


def run_keras(data_dir, epochs, seed):
    import train as tr
    argv = ["--data", data_dir, "--arch", "keras", "--epochs", str(epochs), "--lr", "1e-3",
            "--seed", str(seed), "--out", OUT, "--checkpoints",
            os.path.join(HERE, "checkpoints", "keras"), "--tag", "keras_"]
    s = tr.train(tr.parse_args(argv))
    return {"model": "Keras-style CNN Conv32-Conv64-MaxPool-Dropout0.25-Dense128-Dropout0.5-Dense10 "
                     "(PyTorch, train.py pipeline)",
            "params": s["params"], "macs": s["macs"], "epochs": s["epochs_run"],
            "best_epoch": s["best_epoch"], "val": s["val"], "test": s["test"],
            "train_time_s": s["train_time_s"], "mean_epoch_s": s["mean_epoch_s"],
            "command_equivalent": "/usr/bin/python3 model/train.py " + " ".join(argv).replace(
                mnist.REPO_ROOT + os.sep, "")}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=mnist.DEFAULT_DATA)
    ap.add_argument("--only", choices=["svc", "keras"])
    ap.add_argument("--keras-epochs", type=int, default=6)
    ap.add_argument("--svc-gamma", default="0.001", help="the brief's 0.001 (default); another "
                    "value, or 'scale', is stored as a separate result pca_svc_gamma_<value>")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "baselines.json")
    results = {}
    if os.path.exists(path):
        with open(path) as f:
            results = json.load(f)
    if args.only in (None, "svc"):
        gamma = args.svc_gamma if args.svc_gamma == "scale" else float(args.svc_gamma)
        key = "pca_svc" if args.svc_gamma == "0.001" else f"pca_svc_gamma_{args.svc_gamma}"
        results[key] = run_svc(args.data, args.seed, gamma)
        with open(path, "w") as f:
            json.dump(results, f, indent=1)
    if args.only in (None, "keras"):
        results["keras_cnn"] = run_keras(args.data, args.keras_epochs, args.seed)
        with open(path, "w") as f:
            json.dump(results, f, indent=1)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
