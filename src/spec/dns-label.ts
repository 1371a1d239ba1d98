const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isDnsLabel(name: string): boolean {
  return DNS_LABEL.test(name);
}

/** The closest DNS label to a rejected name: "Lb_02" → "lb-02". Empty when nothing is left. */
function toDnsLabel(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .slice(0, 63)
    .replace(/^-+|-+$/g, "");
}

/** Why a name is not a DNS label, in words, with a corrected name when there is one. */
export function dnsLabelHint(name: string): string {
  const reason = name.includes("_")
    ? 'Proxmox refuses "_" in names; use "-"'
    : /[A-Z]/.test(name)
      ? "use lowercase letters"
      : name.length > 63
        ? "at most 63 characters"
        : 'use lowercase letters, digits and "-", with a letter or digit at both ends';
  const fixed = toDnsLabel(name);
  return fixed === "" || fixed === name ? reason : `${reason}, e.g. "${fixed}"`;
}

const LDH_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;

/**
 * Why text is not a DNS name (labels of letters, digits and "-", joined by dots, at most 253
 * characters, not ending in an all-digit label, which would be an IP address gone wrong);
 * undefined when it is one.
 */
export function dnsNameProblem(text: string): string | undefined {
  if (text.length > 253) return "a DNS name has at most 253 characters";
  if (text.endsWith(".")) return "write it without the trailing dot";
  const labels = text.split(".");
  if (labels.some((label) => label === "")) return "a label is empty (two dots in a row, or a leading dot)";
  if (labels.some((label) => label.length > 63)) return "a label has at most 63 characters";
  if (text.includes("_")) return '"_" is not allowed in host names; use "-"';
  if (labels.some((label) => !LDH_LABEL.test(label))) return 'use letters, digits and "-" (not at the start or end of a label), separated by dots';
  if (/^[0-9]+$/.test(labels.at(-1) ?? "")) return "the last label is all digits: an IPv4 address has four numbers";
  return undefined;
}
