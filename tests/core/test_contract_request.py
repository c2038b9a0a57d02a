"""SearchRequest is the one list of search parameters: signatures, tenant overrides and defaults follow it."""

from __future__ import annotations

import inspect

import pytest
from pydantic import ValidationError

from genseek import GenerativeSearch
from genseek.contract import SearchRequest
from genseek.search import SearchPlanner
from genseek.tenants import LIBRARY_DEFAULTS
from genseek.tenants.model import FORBIDDEN_OVERRIDES, SEARCH_PARAMETERS


def test_the_sync_signature_is_the_contract_with_its_defaults():
    parameters = inspect.signature(GenerativeSearch.search).parameters
    keywords = {name: p.default for name, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    keywords.pop("vector")
    assert keywords == SearchRequest.defaults()


def test_the_planner_takes_every_parameter_but_the_anchor_ones():
    planner = set(inspect.signature(SearchPlanner.prepare).parameters)
    validated = set(inspect.signature(SearchPlanner._validate).parameters)
    for name in SearchRequest.names():
        assert name in planner or name in ("anchor_weight",), name
        assert name in validated or name in ("anchor", "anchor_weight"), name


def test_tenant_overrides_and_defaults_derive_from_it():
    assert SEARCH_PARAMETERS | FORBIDDEN_OVERRIDES == set(SearchRequest.names())
    assert LIBRARY_DEFAULTS == {k: v for k, v in SearchRequest.defaults().items() if k in SEARCH_PARAMETERS}


def test_split_separates_sampler_controls_and_refuses_nothing_it_knows():
    request, controls = SearchRequest.split({"limit": 5, "guidance": 2.0, "negative": "live"}, n_seeds=1)
    assert (request.limit, request.n_seeds, request.offset) == (5, 1, 0)
    assert controls == {"guidance": 2.0, "negative": "live"}
    assert SearchRequest.split({"n_seeds": 4}, n_seeds=1)[0].n_seeds == 4  # the caller wins over a call default
    with pytest.raises(ValidationError):
        SearchRequest(limitt=5)
    with pytest.raises(ValidationError):
        request.limit = 3  # frozen
