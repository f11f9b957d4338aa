#!/usr/bin/env python3
"""PyTorch reference values for Loom's optimisers, learning-rate schedules and gradient clipping.

Runs every optimiser configuration for 20 steps on a fixed small parameter set, in float64, with a gradient that
is a plain formula of the parameters and the step (so Loom computes the very same gradients), and records the
parameters after each step; records each schedule's learning rates (and cycled momenta) over 30 steps; and
records clip_grad_norm_ / clip_grad_value_ results. Writes one small JSON file that Loom's tests replay
(tests/Loom.Tests/Optim/OptimReferenceTests.cs).

    /usr/bin/python3 tests/reference/optim_reference.py [--seed N] [--out PATH]

Needs only torch (Debian: python3-torch) and the standard library.
"""
import argparse
import json
import math
import os
import random
import warnings

import torch

SHAPES = [[2, 3], [4], [2]]          # parameters a, b, c; groups: [a, b] with the defaults, [c] with overrides
STEPS = 20
SCHEDULE_STEPS = 30
NO_GRAD_PERIOD = 3                   # c gets no gradient (grad None) at steps t with t % 3 == 2

# grad(p, t) = coef * p + 0.1 * (p * p * p) + 0.5 * sin(0.9 * (t + 1) + 0.37 * j)   (j: flat index over a, b, c)
GRAD_FORMULA = "coef * p + 0.1 * (p * p * p) + 0.5 * sin(0.9 * (t + 1) + 0.37 * j)"


def gradient(p, coef, offset, t):
    wave = torch.tensor([0.5 * math.sin(0.9 * (t + 1) + 0.37 * (offset + k)) for k in range(p.numel())],
                        dtype=torch.float64).reshape(p.shape)
    return coef * p + 0.1 * (p * p * p) + wave


OPTIMIZER_CASES = [
    # name, torch class, options, overrides of the second group, schedule, clip
    ("sgd_plain", "SGD", {"lr": 0.1}, {"lr": 0.05}, None, None),
    ("sgd_momentum", "SGD", {"lr": 0.05, "momentum": 0.9}, {"lr": 0.02}, None, None),
    ("sgd_dampening_wd", "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01},
     {"weight_decay": 0.1}, None, None),
    ("sgd_nesterov_wd", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05},
     {"lr": 0.1, "weight_decay": 0.0}, None, None),
    ("sgd_maximize", "SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True, "weight_decay": 0.02},
     {"lr": 0.005}, None, None),
    ("adam_default", "Adam", {"lr": 0.01}, {"lr": 0.03}, None, None),
    ("adam_wd_amsgrad", "Adam", {"lr": 0.02, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.1, "amsgrad": True},
     {"weight_decay": 0.01}, None, None),
    ("adam_maximize", "Adam", {"lr": 0.01, "maximize": True}, {"lr": 0.002, "weight_decay": 0.05}, None, None),
    ("adamw_default", "AdamW", {"lr": 0.01}, {"lr": 0.02}, None, None),
    ("adamw_amsgrad", "AdamW", {"lr": 0.02, "betas": [0.85, 0.995], "weight_decay": 0.1, "amsgrad": True},
     {"weight_decay": 0.3}, None, None),
    ("adamw_maximize", "AdamW", {"lr": 0.01, "eps": 1e-4, "maximize": True}, {"lr": 0.005}, None, None),
    ("rmsprop_default", "RMSprop", {"lr": 0.01}, {"lr": 0.003}, None, None),
    ("rmsprop_momentum_wd", "RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.9, "weight_decay": 0.01},
     {"weight_decay": 0.2}, None, None),
    ("rmsprop_centered", "RMSprop", {"lr": 0.005, "centered": True, "eps": 1e-6}, {"lr": 0.01}, None, None),
    ("rmsprop_centered_momentum_maximize", "RMSprop",
     {"lr": 0.002, "alpha": 0.95, "centered": True, "momentum": 0.5, "maximize": True}, {"lr": 0.001}, None, None),
    ("sgd_one_cycle", "SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}, {"lr": 0.2},
     {"kind": "one_cycle", "max_lr": 0.1, "total_steps": STEPS}, None),
    ("adam_one_cycle_three_phase", "Adam", {"lr": 0.01}, {},
     {"kind": "one_cycle", "max_lr": 0.05, "total_steps": STEPS, "three_phase": True, "anneal_strategy": "linear"},
     None),
    ("rmsprop_one_cycle", "RMSprop", {"lr": 0.01, "momentum": 0.5}, {},
     {"kind": "one_cycle", "max_lr": 0.01, "total_steps": STEPS, "pct_start": 0.4}, None),
    ("sgd_cosine_clip_norm", "SGD", {"lr": 0.2, "momentum": 0.9}, {},
     {"kind": "cosine", "T_max": 10, "eta_min": 0.01}, {"max_norm": 0.5, "norm_type": 2.0}),
    ("adam_clip_inf", "Adam", {"lr": 0.05}, {}, None, {"max_norm": 0.3, "norm_type": "inf"}),
]


def make_scheduler(opt, spec):
    if spec is None:
        return None
    kind = spec["kind"]
    args = {k: v for k, v in spec.items() if k != "kind"}
    if kind == "one_cycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, **args)
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, **args)
    raise ValueError(kind)


def run_optimizer_case(case, init, coefs):
    name, cls, options, overrides, schedule, clip = case
    params = [torch.tensor(v, dtype=torch.float64).reshape(s).requires_grad_() for v, s in zip(init, SHAPES)]
    coef_tensors = [torch.tensor(c, dtype=torch.float64).reshape(s) for c, s in zip(coefs, SHAPES)]
    offsets = [0, 6, 10]
    opt_options = dict(options)
    if "betas" in opt_options:
        opt_options["betas"] = tuple(opt_options["betas"])
    groups = [{"params": params[:2]}, {"params": params[2:], **overrides}]
    opt = getattr(torch.optim, cls)(groups, foreach=False, **opt_options)
    scheduler = make_scheduler(opt, schedule)
    trajectory = []
    for t in range(STEPS):
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            for i, p in enumerate(params):
                if i == 2 and t % NO_GRAD_PERIOD == 2:
                    continue
                p.grad = gradient(p.detach(), coef_tensors[i], offsets[i], t)
        if clip is not None:
            norm_type = float("inf") if clip["norm_type"] == "inf" else clip["norm_type"]
            torch.nn.utils.clip_grad_norm_(params, clip["max_norm"], norm_type)
        opt.step()
        if scheduler is not None:
            scheduler.step()
        trajectory.append([x for p in params for x in p.detach().reshape(-1).tolist()])
    return {
        "name": name,
        "optimizer": cls.lower(),
        "options": options,
        "group1": overrides,
        "schedule": schedule,
        "clip": clip,
        "trajectory": trajectory,
    }


SCHEDULE_CASES = [
    ("step", "sgd", {"kind": "step", "step_size": 7, "gamma": 0.5}),
    ("multistep_repeated_milestone", "sgd", {"kind": "multistep", "milestones": [5, 12, 12, 20], "gamma": 0.3}),
    ("cosine_past_t_max", "sgd", {"kind": "cosine", "T_max": 12, "eta_min": 0.001}),
    ("cosine", "sgd", {"kind": "cosine", "T_max": 30}),
    ("linear_warmup", "sgd", {"kind": "linear", "start_factor": 0.25, "end_factor": 1.0, "total_iters": 8}),
    ("linear_decay", "sgd", {"kind": "linear", "start_factor": 1.0, "end_factor": 0.1, "total_iters": 20}),
    ("one_cycle_cos_sgd", "sgd", {"kind": "one_cycle", "max_lr": [0.5, 0.05], "total_steps": SCHEDULE_STEPS}),
    ("one_cycle_three_phase_linear_adam", "adam",
     {"kind": "one_cycle", "max_lr": 0.3, "total_steps": SCHEDULE_STEPS, "pct_start": 0.25, "anneal_strategy": "linear",
      "three_phase": True, "div_factor": 10.0, "final_div_factor": 100.0, "base_momentum": 0.8, "max_momentum": 0.9}),
    ("one_cycle_no_momentum", "sgd",
     {"kind": "one_cycle", "max_lr": 0.2, "total_steps": SCHEDULE_STEPS + 5, "cycle_momentum": False}),
    ("sequential_warmup_cosine", "sgd",
     {"kind": "sequential", "milestones": [5], "schedulers": [
         {"kind": "linear", "start_factor": 0.1, "end_factor": 1.0, "total_iters": 5},
         {"kind": "cosine", "T_max": 25, "eta_min": 0.0001}]}),
    ("sequential_three", "sgd",
     {"kind": "sequential", "milestones": [3, 15], "schedulers": [
         {"kind": "linear", "start_factor": 0.5, "end_factor": 1.0, "total_iters": 3},
         {"kind": "step", "step_size": 4, "gamma": 0.5},
         {"kind": "multistep", "milestones": [2, 6], "gamma": 0.1}]}),
    ("plateau_min_rel", "sgd",
     {"kind": "plateau", "mode": "min", "factor": 0.5, "patience": 2, "threshold": 0.01, "threshold_mode": "rel",
      "cooldown": 1, "min_lr": [0.01, 0.004]}),
    ("plateau_max_abs", "sgd",
     {"kind": "plateau", "mode": "max", "factor": 0.3, "patience": 1, "threshold": 0.05, "threshold_mode": "abs",
      "cooldown": 0, "min_lr": 0.0}),
]


def make_schedule(opt, spec):
    kind = spec["kind"]
    args = {k: v for k, v in spec.items() if k not in ("kind", "schedulers")}
    s = torch.optim.lr_scheduler
    if kind == "step":
        return s.StepLR(opt, **args)
    if kind == "multistep":
        return s.MultiStepLR(opt, **args)
    if kind == "cosine":
        return s.CosineAnnealingLR(opt, **args)
    if kind == "linear":
        return s.LinearLR(opt, **args)
    if kind == "one_cycle":
        return s.OneCycleLR(opt, **args)
    if kind == "plateau":
        return s.ReduceLROnPlateau(opt, **args)
    if kind == "sequential":
        inner = [make_schedule(opt, sub) for sub in spec["schedulers"]]
        return s.SequentialLR(opt, inner, **args)
    raise ValueError(kind)


def plateau_metric(t):
    # Falls, then wanders on a plateau, then falls again: exercises patience, cooldown and the threshold.
    return 1.0 / (1.0 + 0.3 * min(t, 8)) + 0.02 * math.sin(1.7 * t) - (0.05 * (t - 20) if t > 20 else 0.0)


def momentum_of(group, optimizer):
    return group["betas"][0] if optimizer == "adam" else group["momentum"]


def run_schedule_case(case):
    name, optimizer, spec = case
    dummy = [torch.zeros(2, dtype=torch.float64, requires_grad=True), torch.zeros(3, dtype=torch.float64, requires_grad=True)]
    groups = [{"params": dummy[:1], "lr": 0.1}, {"params": dummy[1:], "lr": 0.01}]
    if optimizer == "adam":
        opt = torch.optim.Adam(groups, foreach=False)
    else:
        opt = torch.optim.SGD(groups, momentum=0.9, foreach=False)
    scheduler = make_schedule(opt, spec)
    lrs = [[g["lr"] for g in opt.param_groups]]
    momenta = [[momentum_of(g, optimizer) for g in opt.param_groups]]
    metrics = []
    for t in range(SCHEDULE_STEPS):
        opt.step()
        if spec["kind"] == "plateau":
            m = plateau_metric(t)
            metrics.append(m)
            scheduler.step(m)
        else:
            scheduler.step()
        lrs.append([g["lr"] for g in opt.param_groups])
        momenta.append([momentum_of(g, optimizer) for g in opt.param_groups])
        if spec["kind"] != "plateau":
            assert scheduler.get_last_lr() == lrs[-1]
    return {"name": name, "optimizer": optimizer, "group_lrs": [0.1, 0.01], "schedule": spec,
            "metrics": metrics, "lrs": lrs, "momenta": momenta}


def run_clip_cases(init, coefs):
    cases = []
    offsets = [0, 6, 10]
    for norm_type, max_norm in [(2.0, 1.0), (2.0, 100.0), (1.0, 2.0), (3.5, 0.7), ("inf", 0.4)]:
        for kind in ("norm", "value"):
            if kind == "value" and norm_type != 2.0:
                continue
            params = [torch.tensor(v, dtype=torch.float64).reshape(s).requires_grad_() for v, s in zip(init, SHAPES)]
            for i, p in enumerate(params):
                p.grad = gradient(p.detach(), torch.tensor(coefs[i], dtype=torch.float64).reshape(SHAPES[i]), offsets[i], 0)
            grads_before = [x for p in params for x in p.grad.reshape(-1).tolist()]
            if kind == "norm":
                nt = float("inf") if norm_type == "inf" else norm_type
                total = float(torch.nn.utils.clip_grad_norm_(params, max_norm, nt))
                case = {"kind": "norm", "norm_type": norm_type, "max_norm": max_norm, "total_norm": total}
            else:
                torch.nn.utils.clip_grad_value_(params, max_norm)
                case = {"kind": "value", "clip_value": max_norm}
            case["grads_before"] = grads_before
            case["grads_after"] = [x for p in params for x in p.grad.reshape(-1).tolist()]
            cases.append(case)
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial parameters and gradient coefficients")
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "data", "optim", "optim_reference.json"))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_default_dtype(torch.float64)

    rng = random.Random(args.seed)
    init = [[rng.uniform(-1.5, 1.5) for _ in range(math.prod(s))] for s in SHAPES]
    coefs = [[rng.uniform(0.2, 2.0) for _ in range(math.prod(s))] for s in SHAPES]

    result = {
        "torch_version": torch.__version__,
        "seed": args.seed,
        "shapes": SHAPES,
        "steps": STEPS,
        "no_grad_period": NO_GRAD_PERIOD,
        "grad_formula": GRAD_FORMULA,
        "init": init,
        "coefs": coefs,
        "optimizers": [run_optimizer_case(c, init, coefs) for c in OPTIMIZER_CASES],
        "schedules": [run_schedule_case(c) for c in SCHEDULE_CASES],
        "clips": run_clip_cases(init, coefs),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.out}: {len(result['optimizers'])} optimiser runs, {len(result['schedules'])} schedules, "
          f"{len(result['clips'])} clipping cases (torch {torch.__version__}, seed {args.seed})")


if __name__ == "__main__":
    main()
