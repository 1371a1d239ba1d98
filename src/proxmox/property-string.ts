// Proxmox "property strings": comma-separated key=value pairs where the first item may be a
// bare value for the option's default key ("x86-64-v2-AES,flags=+aes", "order=scsi0",
// "local:iso/x.iso,media=cdrom"). Values never contain commas in the options starbase manages.

export type PropertyString = Map<string, string>;

/** Parses "a,b=c": the bare item goes under `defaultKey`. */
export function parsePropertyString(text: string, defaultKey: string): PropertyString {
  const out: PropertyString = new Map();
  for (const item of text.split(",")) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq < 0) out.set(defaultKey, item);
    else out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

/** Net devices spell the model as its own key with the MAC as value: "virtio=BC:24:11:…,bridge=vmbr0". */
const NIC_MODELS = ["e1000", "e1000e", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "i82551", "i82557b",
  "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3"] as const;

export interface NetDevice {
  model: string;
  mac?: string;
  props: PropertyString;
}

export function parseNetDevice(text: string): NetDevice {
  const props = parsePropertyString(text, "model");
  const modelKey = NIC_MODELS.find((model) => props.has(model));
  if (modelKey !== undefined) {
    const mac = props.get(modelKey);
    props.delete(modelKey);
    return { model: modelKey, ...(mac !== undefined && mac !== "" && { mac }), props };
  }
  const model = props.get("model") ?? "";
  const mac = props.get("macaddr");
  props.delete("model");
  props.delete("macaddr");
  return { model, ...(mac !== undefined && { mac }), props };
}

/** "50G" → bytes; Proxmox disk sizes carry K, M, G or T (binary units), or no unit for bytes. */
export function parseDiskSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT])?$/.exec(text);
  if (m === null) return undefined;
  const exponent = { K: 1, M: 2, G: 3, T: 4 }[m[2] as "K" | "M" | "G" | "T"] ?? 0;
  return Math.round(Number(m[1]) * 1024 ** exponent);
}

export const GIB = 1024 ** 3;
export const MIB = 1024 ** 2;
