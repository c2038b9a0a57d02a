"""Built-in fusers, registered through the same hook as third-party ones."""

from ..plugin.hookspecs import hookimpl
from .centroid import CentroidFuser
from .dbsf import DBSFFuser
from .maximum import MaxFuser
from .mmr import MMRFuser
from .round_robin import RoundRobinFuser
from .rrf import RRFFuser


@hookimpl
def register_fusers(register):
    for fuser in (RRFFuser, DBSFFuser, CentroidFuser, MaxFuser, RoundRobinFuser, MMRFuser):
        register(fuser)
