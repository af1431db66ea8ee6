"""``geo-service site``: where to open new posts, on a CSV cost matrix or a bundle's road network."""

from __future__ import annotations

import argparse
import json

from pydantic import ValidationError

from geo_service.bundle import load_bundle
from geo_service.errors import InputError
from geo_service.siting import MODELS, read_cost_matrix
from geo_service.siting.request import SitingBody, run_siting


def run_site(args: argparse.Namespace) -> int:
    """``geo-service site``: solve a siting model on a cost matrix or a bundle; print the summary."""
    if (args.bundle is None) == (args.matrix is None):
        msg = "give --bundle or --matrix (one of them)"
        raise InputError(msg)
    if args.matrix is not None:
        matrix, weights, labels = read_cost_matrix(args.matrix)
        model = MODELS[args.model].from_cost_matrix(matrix, weights, service_time=args.minutes, p=args.p,
                                                    labels=labels, time_limit=args.time_limit)
        result = model.solve().to_dict()
    else:
        try:
            body = SitingBody(model=args.model, minutes=args.minutes, p=args.p, mode=args.mode,
                              candidates=args.candidates, max_candidates=args.max_candidates,
                              existing=args.existing, time_limit=args.time_limit)
        except ValidationError as exc:
            err = exc.errors()[0]
            msg = f"{'.'.join(str(p) for p in err['loc']) or 'options'}: {err['msg']}"
            raise InputError(msg) from None
        result = run_siting(load_bundle(args.bundle), body)
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    summary = {k: result[k] for k in ("model", "status", "objective", "gap", "coverage", "chosen", "marginal")
               if k in result}
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0
