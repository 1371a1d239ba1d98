import { stringify } from "yaml";

/**
 * YAML for readers that speak YAML 1.1 (PyYAML in cloud-init, go-yaml in RKE2 and Helm): there a
 * plain 18:00 is the number 1080, 0600 is 384 and off is false, so such strings must be quoted.
 */
export function toYaml(value: unknown): string {
  return stringify(value, { version: "1.1", lineWidth: 0 });
}
