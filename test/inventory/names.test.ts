import { describe, expect, test } from "bun:test";
import { declaredHosts } from "../../src/inventory/declared.ts";
import { countedName, hostFqdn } from "../../src/inventory/names.ts";
import { countGroup, listedGroup } from "./fixture.ts";

describe("countedName", () => {
  test("two digits, 1-based", () => {
    expect(countedName("agent", 0)).toBe("agent01");
    expect(countedName("agent", 8)).toBe("agent09");
    expect(countedName("agent", 9)).toBe("agent10");
    expect(countedName("agent", 98)).toBe("agent99");
  });

  test("more digits only from the hundredth host on, so growing count renames no one", () => {
    expect(countedName("agent", 99)).toBe("agent100");
    expect(countedName("agent", 998)).toBe("agent999");
    expect(countedName("agent", 999)).toBe("agent1000");
  });
});

describe("hostFqdn", () => {
  test("the first search domain", () => {
    expect(hostFqdn("server01", ["lan", "example.org"])).toBe("server01.lan");
  });

  test("the bare name without search domains", () => {
    expect(hostFqdn("server01", [])).toBe("server01");
  });
});

describe("declaredHosts", () => {
  test("count groups get the role's default prefix", () => {
    const names = (role: "loadbalancer" | "server" | "agent") =>
      declaredHosts(countGroup(200, 2, "10.0.20.50"), role).map((h) => h.name);
    expect(names("loadbalancer")).toEqual(["lb01", "lb02"]);
    expect(names("server")).toEqual(["server01", "server02"]);
    expect(names("agent")).toEqual(["agent01", "agent02"]);
  });

  test("namePrefix replaces the default", () => {
    expect(declaredHosts(countGroup(220, 3, "10.0.20.50", { namePrefix: "worker-" }), "agent").map((h) => h.name))
      .toEqual(["worker-01", "worker-02", "worker-03"]);
  });

  test("an explicit list is kept exactly, in declaration order", () => {
    const hosts = [{ name: "zeta" }, { name: "alpha", ip: "10.0.20.9" }, { name: "mid", vmid: 500 }];
    expect(declaredHosts(listedGroup(210, hosts), "server")).toEqual(hosts);
  });

  test("a count of 100 generates agent01 … agent99, agent100", () => {
    const names = declaredHosts(countGroup(220, 100, "10.0.20.100"), "agent").map((h) => h.name);
    expect(names).toHaveLength(100);
    expect(names.slice(0, 2)).toEqual(["agent01", "agent02"]);
    expect(names.slice(98)).toEqual(["agent99", "agent100"]);
    expect(new Set(names).size).toBe(100);
  });

  test("a missing or nonsensical count declares nothing rather than throwing", () => {
    expect(declaredHosts({ vm: countGroup(1, 0, "").vm }, "agent")).toEqual([]);
    expect(declaredHosts(countGroup(220, -2, "10.0.20.5"), "agent")).toEqual([]);
    expect(declaredHosts(countGroup(220, 1.5, "10.0.20.5"), "agent")).toEqual([]);
  });
});
