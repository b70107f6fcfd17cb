"""What produced a release's numbers: its model, how its profiles were converted, how its signatures were computed.

Read from the release's own record (`params` from signatures.compute.start_release,
`conversion` copied at merge), so the search, the API, downloads and the
release's README (signatures.release_files) say the same.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReleaseProvenance:
    name: str
    model_version: str
    dataset: str
    controls: str
    gamma: float
    min_replicates: int
    precision: str  # the network's arithmetic when the profiles were converted: fp32, bf16 (or "unknown")
    device: str  # where they were converted: cpu, cuda (or "")
    stored_as: str  # the converted profiles' dtype on disk: float32, float16 (or "")

    def describe(self) -> str:
        converted = f"precision {self.precision}" + (f" on {self.device}, stored as {self.stored_as}" if self.device else "")
        return (
            f"release {self.name}; model {self.model_version}; {converted}; dataset {self.dataset}; controls {self.controls}; "
            f"gamma {self.gamma:g}; min replicates {self.min_replicates}"
        )


def release_provenance(release) -> ReleaseProvenance:
    """The settings a release was computed with (signatures.compute.start_release records them in `params`,
    the merge copies how its profiles were converted into `conversion`)."""
    params = release.params or {}
    conversion = release.conversion or {}
    return ReleaseProvenance(
        name=release.name,
        model_version=release.model_version or "unknown",
        dataset=release.dataset.name,
        controls=str(params.get("controls", "all")),
        gamma=float(params.get("gamma", 1.0)),
        min_replicates=int(params.get("min_replicates", 2)),
        precision=str(conversion.get("compute_precision", "unknown")),
        device=str(conversion.get("device", "")),
        stored_as=str(conversion.get("stored_as", "")),
    )
