// The string formats spec-schema.json uses that ajv does not define itself. Imported by the
// validator codegen/spec-validator.ts generates (and by that generator, to compile it).
import { parseIpv4 } from "../net/ip.ts";

/** Four decimal octets, no leading zeros: the addresses net/ip.ts computes with. */
export const ipv4 = { type: "string", validate: (text: string) => parseIpv4(text) !== undefined } as const;
