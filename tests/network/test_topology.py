"""The test networks' descriptions (tests/network/topology.py): no namespaces needed."""

from __future__ import annotations

import ipaddress

import pytest

from tests.network.topology import (
    TEST_RANGE,
    Allow,
    Topology,
    cut,
    hospital_firewall,
    media_node_firewall,
    random_loss,
    symmetric_nat,
    token_bucket,
    undo,
)


def test_sites_get_their_own_subnet_in_the_benchmark_range_with_the_router_as_gateway() -> None:
    topology = Topology.star("jn1x0-", "hospital", "server")
    hospital, server = topology.sites
    assert (hospital.address, hospital.gateway) == ("198.18.1.2", "198.18.1.1")
    assert (server.address, server.gateway) == ("198.18.2.2", "198.18.2.1")
    for site in topology.sites:
        assert ipaddress.ip_address(site.address) in TEST_RANGE
    assert topology.namespaces() == ["jn1x0-wan", "jn1x0-hospital", "jn1x0-server"]


def test_site_names_are_distinct_and_known() -> None:
    with pytest.raises(ValueError):
        Topology.star("p-", "a", "a")
    with pytest.raises(ValueError):
        Topology.star("p-", "wan")
    with pytest.raises(KeyError):
        Topology.star("p-", "a").namespace("b")


def test_a_firewall_drops_by_default_and_lets_replies_back() -> None:
    rules = hospital_firewall("udp-blocked", web="198.18.2.2", turn="198.18.3.2").rules()
    assert ["-P", "OUTPUT", "DROP"] in rules and ["-P", "INPUT", "DROP"] in rules
    assert [
        "-A",
        "INPUT",
        "-m",
        "conntrack",
        "--ctstate",
        "ESTABLISHED,RELATED",
        "-j",
        "ACCEPT",
    ] in rules
    allowed = [
        rule
        for rule in rules
        if rule[:2] == ["-A", "OUTPUT"] and "-o" not in rule and "--ctstate" not in rule
    ]
    assert allowed == [
        ["-A", "OUTPUT", "-p", "tcp", "-d", "198.18.2.2", "--dport", "443", "-j", "ACCEPT"],
        ["-A", "OUTPUT", "-p", "tcp", "-d", "198.18.3.2", "-j", "ACCEPT"],
    ]


def test_only_443_allows_that_port_to_anyone_and_nothing_else() -> None:
    rules = hospital_firewall("tcp-443-only", web="w", turn="t").rules()
    assert ["-A", "OUTPUT", "-p", "tcp", "--dport", "443", "-j", "ACCEPT"] in rules
    assert not any("udp" in rule for rule in rules)


def test_the_media_node_takes_media_only_from_the_turn_host() -> None:
    rules = media_node_firewall(turn="198.18.3.2").rules()
    assert ["-A", "INPUT", "-p", "udp", "-s", "198.18.3.2", "-j", "ACCEPT"] in rules
    assert ["-A", "INPUT", "-p", "tcp", "--dport", "443", "-j", "ACCEPT"] in rules
    assert ["-A", "OUTPUT", "-j", "ACCEPT"] in rules
    assert not [
        rule for rule in rules if rule[:2] == ["-A", "INPUT"] and "udp" in rule and "-s" not in rule
    ]


def test_unknown_firewalls_and_portless_protocols_are_refused() -> None:
    with pytest.raises(ValueError):
        hospital_firewall("closed", web="w", turn="t")
    with pytest.raises(ValueError):
        Allow("all", "198.18.3.2", 443).match()


def test_added_router_rules_are_undone_by_the_same_match() -> None:
    site = Topology.star("p-", "hospital").site("hospital")
    assert [undo(rule) for rule in cut(site)] == [
        ["-D", "FORWARD", "-i", "hospital", "-j", "DROP"],
        ["-D", "FORWARD", "-o", "hospital", "-j", "DROP"],
    ]
    nat = symmetric_nat(site)[0]
    assert undo(nat)[:4] == ["-t", "nat", "-D", "POSTROUTING"]
    assert "--random-fully" in nat
    with pytest.raises(ValueError):
        undo(["-D", "FORWARD", "-j", "DROP"])


def test_random_loss_is_a_statistic_match_towards_or_from_the_site() -> None:
    site = Topology.star("p-", "hospital").site("hospital")
    down = random_loss(site, 0.05)
    assert down[3:5] == ["-o", "hospital"] and "0.0500" in down
    assert random_loss(site, 0.5, direction="up")[3:5] == ["-i", "hospital"]
    with pytest.raises(ValueError):
        random_loss(site, 1.5)


def test_the_token_bucket_holds_a_packet_and_ten_milliseconds_of_the_rate() -> None:
    assert token_bucket(512) == ["tbf", "rate", "512kbit", "burst", "1600", "latency", "50ms"]
    assert token_bucket(20_000)[4] == str(20_000_000 // 8 // 100)
    assert token_bucket(1000, burst_bytes=9000, latency_ms=200)[4:] == ["9000", "latency", "200ms"]
    with pytest.raises(ValueError):
        token_bucket(0)
