"""How many evaluations the rules have run in this process, read from their metric."""

from observability import metrics


def evaluations() -> int:
    """Evaluations so far (ok or failed), as ``fourway_rule_evaluations_total`` counts them."""
    return int(
        sum(
            sample.value
            for metric in metrics.RULE_EVALUATIONS.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        )
    )
