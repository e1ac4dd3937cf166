"""Write a world's history as the CSV files `logicrm import` takes (docs/imports.md), one per kind.

Only the exported history goes out: accounts present on some day of it, and records dated within it.
Renewal opportunities stay in the world: LogiCRM has no import for opportunities.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from tests.worlds.generator import DIMENSIONS
from tests.worlds.world import NEVER, World

IMPORT_ORDER = (
    "customers",
    "departments",
    "contacts",
    "links",
    "shipments",
    "surveys",
    "interactions",
    "tickets",
)

COLUMNS = {
    "customers": ("external_ref", "name", "registration_number", "industry", "region", "tier", "status",
                  "acquisition_channel", "referred_by_ref", "acquired_on", "churned_on", "shipper", "contract_start",
                  "contract_end", "services", "contracted_annual_value", "on_time_target", "consignee", "sites",
                  "receiving_windows", "delivery_requirements", "allow_duplicate"),
    "departments": ("customer_ref", "name", "decision_weight", "is_decision_maker"),
    "contacts": ("external_ref", "customer_ref", "department", "name", "role", "email", "phone"),
    "links": ("external_ref", "shipper_ref", "consignee_ref", "origin", "destination", "service_type",
              "declared_monthly_volume", "started_on", "ended_on", "status"),
    "shipments": ("external_ref", "link_ref", "shipped_at", "promised_at", "delivered_at", "in_full", "damaged",
                  "claim_amount", "revenue", "cost"),
    "surveys": ("external_ref", "customer_ref", "department", "contact_ref", "collected_at", "channel", "scale_min",
                "scale_max", "likelihood_to_recommend", "comment",
                *(f"{dimension}_{part}" for dimension in DIMENSIONS
                  for part in ("expectation", "perception", "importance"))),
    "interactions": ("external_ref", "customer_ref", "department", "kind", "at", "summary", "next_follow_up"),
    "tickets": ("external_ref", "customer_ref", "link_ref", "kind", "severity", "subject", "opened_at",
                "first_response_at", "resolved_at", "status", "claim_amount"),
}  # fmt: skip


def export_csv(world: World, directory: str | Path) -> dict[str, Path]:
    """Write one file per import kind into `directory`; return their paths in import order."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    writer = _Writer(world)
    paths = {}
    for kind in IMPORT_ORDER:
        path = directory / f"{kind}.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(COLUMNS[kind])
            out.writerows(getattr(writer, kind)())
        paths[kind] = path
    return paths


class _Writer:
    def __init__(self, world: World):
        self.world = world
        self.first, self.last = world.first_day, world.last_day
        self.kept = world.exported()
        lanes = world.lanes
        self.lane_kept = (
            self.kept[lanes.shipper] & self.kept[lanes.consignee] & (lanes.start <= self.last)
            & (lanes.end >= self.first) & (lanes.end >= lanes.start)
        )  # fmt: skip

    def _date(self, day) -> str:
        return "" if day is None or day >= NEVER else self.world.date(int(day)).isoformat()

    def _timestamps(self, days) -> np.ndarray:
        """ISO 8601 UTC timestamps of float days ('' for NaN or after the history)."""
        days = np.asarray(days, dtype=float)
        seconds = np.round(np.nan_to_num(days) * 86400).astype(np.int64)
        moments = np.datetime64(self.world.base_date.isoformat(), "s") + seconds.astype("timedelta64[s]")
        text = np.char.add(np.datetime_as_string(moments, unit="s"), "Z")
        return np.where(np.isnan(days) | (days >= self.last + 1), "", text)

    def _in_history(self, days) -> np.ndarray:
        days = np.asarray(days, dtype=float)
        return (days >= self.first) & (days < self.last + 1)

    def customers(self):
        world = self.world
        accounts, lanes = world.accounts, world.lanes
        services = [set() for _ in range(len(accounts))]
        for lane in np.flatnonzero(self.lane_kept):
            services[lanes.shipper[lane]].add(lanes.service_type[lane])
        for i in np.flatnonzero(self.kept):
            churned = accounts.churned[i] <= self.last
            referrer = accounts.referred_by[i]
            row = [
                accounts.ref[i], accounts.name[i], accounts.registration[i], accounts.industry[i],
                accounts.region[i], accounts.tier[i], "churned" if churned else "active", accounts.channel[i],
                accounts.ref[referrer] if referrer >= 0 and self.kept[referrer] else "",
                self._date(accounts.acquired[i]), self._date(accounts.churned[i]) if churned else "",
            ]  # fmt: skip
            if accounts.is_shipper[i]:
                # The contract in force on the last day the account was a customer.
                term, start0 = int(accounts.contract_term[i]), int(accounts.contract_start[i])
                reference = min(self.last, int(accounts.churned[i]) - 1)
                start = start0 + max(0, (reference - start0) // term) * term
                row += ["true", self._date(start), self._date(start + term - 1), "|".join(sorted(services[i])),
                        f"{accounts.annual_value[i]:.2f}", f"{accounts.on_time_target[i]:g}"]  # fmt: skip
            else:
                row += [""] * 6
            if accounts.is_consignee[i]:
                row += ["true", f"{accounts.city[i]} DC", "Mon-Fri 06:00-14:00", "Booking 24 h ahead"]
            else:
                row += [""] * 4
            # each account is its own company (own registration number), though generated names may repeat
            yield [*row, "true"]

    def departments(self):
        departments = self.world.departments
        for i, account in enumerate(departments.account):
            if self.kept[account]:
                yield [self.world.accounts.ref[account], departments.name[i], f"{departments.weight[i]:g}",
                       "true" if departments.deciding[i] else "false"]  # fmt: skip

    def contacts(self):
        world = self.world
        for contact in world.contacts:
            if self.kept[contact["account"]]:
                yield [contact["ref"], world.accounts.ref[contact["account"]],
                       world.departments.name[contact["department"]], contact["name"], contact["role"],
                       contact["email"], contact["phone"]]  # fmt: skip

    def links(self):
        world = self.world
        accounts, lanes = world.accounts, world.lanes
        for lane in np.flatnonzero(self.lane_kept):
            ended = lanes.end[lane] <= self.last
            yield [
                lanes.ref[lane], accounts.ref[lanes.shipper[lane]], accounts.ref[lanes.consignee[lane]],
                accounts.city[lanes.shipper[lane]], accounts.city[lanes.consignee[lane]], lanes.service_type[lane],
                f"{lanes.base_rate[lane]:.1f}", self._date(lanes.start[lane]),
                self._date(lanes.end[lane]) if ended else "", "ended" if ended else "active",
            ]  # fmt: skip

    def shipments(self):
        world = self.world
        shipments, lanes = world.shipments, world.lanes
        keep = np.flatnonzero(self._in_history(shipments.shipped) & self.lane_kept[shipments.lane])
        columns = zip(
            (f"SH-{i + 1:08d}" for i in keep),
            (lanes.ref[lane] for lane in shipments.lane[keep]),
            self._timestamps(shipments.shipped[keep]),
            self._timestamps(shipments.promised[keep]),
            self._timestamps(shipments.delivered[keep]),
            np.where(shipments.in_full[keep], "true", "false"),
            np.where(shipments.damaged[keep], "true", "false"),
            np.char.mod("%.2f", shipments.claim[keep]),
            np.char.mod("%.2f", shipments.revenue[keep]),
            np.char.mod("%.2f", shipments.cost[keep]),
            strict=True,
        )
        yield from columns

    def _dated(self, records: list[dict], *fields: str):
        """(serial, record, its timestamps) of each record of an exported account dated in the history
        (by its first field)."""
        kept = [
            (i, r) for i, r in enumerate(records) if self.kept[r["account"]] and r[fields[0]] >= self.first
        ]
        stamps = [self._timestamps([record[name] for _, record in kept]) for name in fields]
        for (serial, record), *moments in zip(kept, *stamps, strict=True):
            if moments[0]:
                yield serial, record, moments

    def surveys(self):
        world = self.world
        for serial, survey, (moment,) in self._dated(world.surveys, "day"):
            scores = []
            for dimension in DIMENSIONS:
                answer = survey["scores"].get(dimension)
                scores += [f"{value:g}" for value in answer] if answer else ["", "", ""]
            yield [f"SV-{serial + 1:07d}", world.accounts.ref[survey["account"]],
                   world.departments.name[survey["department"]], survey["contact"], moment, survey["channel"], 1, 7,
                   survey["ltr"], survey["comment"], *scores]  # fmt: skip

    def interactions(self):
        world = self.world
        for serial, interaction, (moment,) in self._dated(world.interactions, "day"):
            yield [f"IA-{serial + 1:07d}", world.accounts.ref[interaction["account"]],
                   world.departments.name[interaction["department"]], interaction["kind"], moment,
                   interaction["summary"], self._date(interaction["follow_up"])]  # fmt: skip

    def tickets(self):
        world = self.world
        for serial, ticket, moments in self._dated(world.tickets, "opened", "first_response", "resolved"):
            lane = ticket["lane"]
            status = (
                ("closed" if ticket["resolved"] + 7 <= self.last else "resolved") if moments[2]
                else "in_progress" if moments[1] else "open"
            )  # fmt: skip
            yield [f"TK-{serial + 1:07d}", world.accounts.ref[ticket["account"]],
                   world.lanes.ref[lane] if lane >= 0 and self.lane_kept[lane] else "", ticket["kind"],
                   ticket["severity"], ticket["subject"], *moments, status,
                   f"{ticket['claim']:.2f}" if ticket["kind"] == "claim" else ""]  # fmt: skip
