import { describe, expect, test } from "bun:test";
import { redact, registeredSecrets, registerSecret } from "../../src/ui/redact.ts";

describe("redact", () => {
  test("replaces every occurrence of every secret", () => {
    expect(redact("token=abc123; again abc123; pw hunter2", ["abc123", "hunter2"])).toBe("token=***; again ***; pw ***");
  });

  test("catches URL-encoded and JSON-escaped forms", () => {
    const secret = 'p@ss w/"q"';
    expect(redact(`GET /?t=${encodeURIComponent(secret)}`, [secret])).toBe("GET /?t=***");
    expect(redact(`{"password":${JSON.stringify(secret)}}`, [secret])).toBe('{"password":"***"}');
  });

  test("a longer secret is removed whole even when a shorter one is inside it", () => {
    expect(redact("key abcdef end", ["abc", "abcdef"])).toBe("key *** end");
  });

  test("empty secrets are ignored; text without secrets is unchanged", () => {
    expect(redact("nothing to hide", ["", "absent"])).toBe("nothing to hide");
  });

  test("registered secrets are the default", () => {
    const secret = "registered-7f3a9e-value";
    registerSecret(secret);
    registerSecret("");
    expect(registeredSecrets()).toContain(secret);
    expect(registeredSecrets()).not.toContain("");
    expect(redact(`auth failed for ${secret}`)).toBe("auth failed for ***");
  });
});
