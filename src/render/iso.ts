// A NoCloud seed image: ISO 9660 with a Joliet tree, one flat root directory, written in
// memory. Joliet keeps the exact lower-case names with hyphens (user-data, meta-data,
// network-config) that cloud-init looks for; the primary tree carries ISO level-2 names for
// readers without Joliet. Timestamps are fixed so the same files always give the same bytes
// (the seed's file name on Proxmox carries a hash of them).

export interface IsoFile {
  name: string;
  content: string | Uint8Array;
}

const SECTOR = 2048;
const FIRST_DESCRIPTOR_SECTOR = 16;
const FIXED_TIME = { year: 2000, month: 1, day: 1 };
const MAX_VOLUME_ID = 16; // Joliet's 32-byte field holds 16 UCS-2 characters
const MAX_PRIMARY_NAME = 30; // level 2: 31 characters including the "."
const MAX_JOLIET_NAME = 64; // UCS-2 characters

/** A directory tree as written: one record identifier per file, in the tree's own encoding. */
interface TreeEntry {
  identifier: Uint8Array;
  sector: number;
  size: number;
}

function bothEndian32(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value, true);
  view.setUint32(offset + 4, value, false);
}

function bothEndian16(view: DataView, offset: number, value: number): void {
  view.setUint16(offset, value, true);
  view.setUint16(offset + 2, value, false);
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function ucs2(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < text.length; i++) view.setUint16(i * 2, text.charCodeAt(i), false);
  return out;
}

/** A fixed-width text field: padded with spaces in the field's encoding. */
function writeField(image: Uint8Array, offset: number, width: number, bytes: Uint8Array, unitWidth: 1 | 2): void {
  for (let i = 0; i < width; i += unitWidth) {
    if (unitWidth === 2) {
      image[offset + i] = 0x00;
      image[offset + i + 1] = 0x20;
    } else image[offset + i] = 0x20;
  }
  image.set(bytes.subarray(0, width), offset);
}

/** "YYYYMMDDHHMMSScc" + GMT offset: the 17-byte date of a volume descriptor. */
function writeVolumeDate(image: Uint8Array, offset: number): void {
  const { year, month, day } = FIXED_TIME;
  const digits = `${year}${String(month).padStart(2, "0")}${String(day).padStart(2, "0")}00000000`;
  image.set(ascii(digits), offset);
  image[offset + 16] = 0;
}

function primaryName(name: string): string {
  const base = name.toUpperCase().replace(/[^A-Z0-9_]/g, "_").slice(0, MAX_PRIMARY_NAME);
  return `${base}.;1`;
}

function jolietName(name: string): string {
  if (name.length === 0 || name.length > MAX_JOLIET_NAME || /[*/:;?\\\u0000-\u001f]/.test(name)) {
    throw new Error(`seed ISO: "${name}" is not a valid Joliet file name`);
  }
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdfff) throw new Error(`seed ISO: "${name}" needs characters outside UCS-2`);
  }
  // No ";1" version suffix: readers show and look up Joliet names exactly as written.
  return name;
}

function directoryRecordLength(identifierLength: number): number {
  return 33 + identifierLength + (identifierLength % 2 === 0 ? 1 : 0);
}

function writeDirectoryRecord(
  image: Uint8Array,
  offset: number,
  entry: TreeEntry,
  isDirectory: boolean,
): number {
  const length = directoryRecordLength(entry.identifier.length);
  const view = new DataView(image.buffer, image.byteOffset + offset, length);
  view.setUint8(0, length);
  bothEndian32(view, 2, entry.sector);
  bothEndian32(view, 10, entry.size);
  view.setUint8(18, FIXED_TIME.year - 1900);
  view.setUint8(19, FIXED_TIME.month);
  view.setUint8(20, FIXED_TIME.day);
  view.setUint8(25, isDirectory ? 0x02 : 0x00);
  bothEndian16(view, 28, 1);
  view.setUint8(32, entry.identifier.length);
  image.set(entry.identifier, offset + 33);
  return length;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0);
  }
  return a.length - b.length;
}

/** Sectors a flat root directory needs: records never cross a sector boundary. */
function directorySectors(identifierLengths: number[]): number {
  let sectors = 1;
  let used = 2 * directoryRecordLength(1); // "." and ".."
  for (const length of identifierLengths) {
    const record = directoryRecordLength(length);
    if (used + record > SECTOR) {
      sectors++;
      used = 0;
    }
    used += record;
  }
  return sectors;
}

function writeDirectory(image: Uint8Array, sector: number, sectors: number, entries: TreeEntry[]): void {
  const self = { sector, size: sectors * SECTOR };
  let offset = sector * SECTOR;
  offset += writeDirectoryRecord(image, offset, { ...self, identifier: new Uint8Array([0]) }, true);
  offset += writeDirectoryRecord(image, offset, { ...self, identifier: new Uint8Array([1]) }, true);
  for (const entry of [...entries].sort((a, b) => compareBytes(a.identifier, b.identifier))) {
    const length = directoryRecordLength(entry.identifier.length);
    if ((offset % SECTOR) + length > SECTOR) offset = Math.ceil(offset / SECTOR) * SECTOR;
    offset += writeDirectoryRecord(image, offset, entry, false);
  }
}

/** Path tables for a tree with only a root directory: one 10-byte record. */
function writePathTable(image: Uint8Array, sector: number, rootSector: number, littleEndian: boolean): void {
  const view = new DataView(image.buffer, image.byteOffset + sector * SECTOR, 10);
  view.setUint8(0, 1);
  view.setUint32(2, rootSector, littleEndian);
  view.setUint16(6, 1, littleEndian);
}

const PATH_TABLE_SIZE = 10;

interface Descriptor {
  /** 1: the primary volume descriptor (ASCII); 2: the Joliet supplementary one (UCS-2). */
  type: 1 | 2;
  sector: number;
  volumeId: string;
  pathTableL: number;
  pathTableM: number;
  rootSector: number;
  rootSectors: number;
}

function writeVolumeDescriptor(image: Uint8Array, totalSectors: number, d: Descriptor): void {
  const base = d.sector * SECTOR;
  const view = new DataView(image.buffer, image.byteOffset + base, SECTOR);
  const textField = (offset: number, width: number, text: string) =>
    d.type === 2 ? writeField(image, base + offset, width, ucs2(text), 2) : writeField(image, base + offset, width, ascii(text), 1);
  view.setUint8(0, d.type);
  image.set(ascii("CD001"), base + 1);
  view.setUint8(6, 1);
  textField(8, 32, ""); // system identifier
  textField(40, 32, d.volumeId);
  bothEndian32(view, 80, totalSectors);
  if (d.type === 2) image.set(ascii("%/E"), base + 88); // Joliet, UCS-2 level 3
  bothEndian16(view, 120, 1); // volume set size
  bothEndian16(view, 124, 1); // volume sequence number
  bothEndian16(view, 128, SECTOR);
  bothEndian32(view, 132, PATH_TABLE_SIZE);
  view.setUint32(140, d.pathTableL, true);
  view.setUint32(148, d.pathTableM, false);
  writeDirectoryRecord(
    image,
    base + 156,
    { identifier: new Uint8Array([0]), sector: d.rootSector, size: d.rootSectors * SECTOR },
    true,
  );
  // volume set, publisher, data preparer, application, copyright, abstract, bibliographic
  const identifiers = [[190, 128, ""], [318, 128, ""], [446, 128, ""], [574, 128, "STARBASE"], [702, 37, ""], [739, 37, ""], [776, 37, ""]] as const;
  for (const [offset, width, text] of identifiers) textField(offset, width, text);
  writeVolumeDate(image, base + 813); // creation
  writeVolumeDate(image, base + 830); // modification
  image.set(ascii("0000000000000000"), base + 847); // expiration: none
  image.set(ascii("0000000000000000"), base + 864); // effective: immediately
  view.setUint8(881, 1); // file structure version
}

/** A NoCloud seed ISO (volume id "cidata") holding the given files in its root directory. */
export function buildSeedIso(files: IsoFile[], volumeId = "cidata"): Uint8Array {
  if (volumeId.length === 0 || volumeId.length > MAX_VOLUME_ID || !/^[A-Za-z0-9_-]+$/.test(volumeId)) {
    throw new Error(`seed ISO: volume id "${volumeId}" must be 1 to ${MAX_VOLUME_ID} letters, digits, "_" or "-"`);
  }
  const contents = files.map((file) =>
    typeof file.content === "string" ? new TextEncoder().encode(file.content) : file.content,
  );
  const primaryTexts = files.map((file) => primaryName(file.name));
  const jolietNames = files.map((file) => ucs2(jolietName(file.name)));
  const seen = new Set<string>();
  files.forEach((file, i) => {
    const key = primaryTexts[i]!;
    if (seen.has(key)) throw new Error(`seed ISO: "${file.name}" collides with another file as ${key}`);
    seen.add(key);
  });
  const primaryNames = primaryTexts.map(ascii);

  // Layout: descriptors (16 PVD, 17 Joliet, 18 terminator), four path tables, two root
  // directories, then the file data shared by both trees.
  const pathTables = { primaryL: 19, primaryM: 20, jolietL: 21, jolietM: 22 };
  const primaryRoot = 23;
  const primaryRootSectors = directorySectors(primaryNames.map((n) => n.length));
  const jolietRoot = primaryRoot + primaryRootSectors;
  const jolietRootSectors = directorySectors(jolietNames.map((n) => n.length));
  let nextSector = jolietRoot + jolietRootSectors;
  const extents = contents.map((content) => {
    const sector = nextSector;
    nextSector += Math.ceil(content.length / SECTOR);
    return { sector: content.length === 0 ? 0 : sector, size: content.length };
  });
  const totalSectors = nextSector;
  const image = new Uint8Array(totalSectors * SECTOR);

  writeVolumeDescriptor(image, totalSectors, {
    type: 1,
    sector: FIRST_DESCRIPTOR_SECTOR,
    volumeId,
    pathTableL: pathTables.primaryL,
    pathTableM: pathTables.primaryM,
    rootSector: primaryRoot,
    rootSectors: primaryRootSectors,
  });
  writeVolumeDescriptor(image, totalSectors, {
    type: 2,
    sector: FIRST_DESCRIPTOR_SECTOR + 1,
    volumeId,
    pathTableL: pathTables.jolietL,
    pathTableM: pathTables.jolietM,
    rootSector: jolietRoot,
    rootSectors: jolietRootSectors,
  });
  const terminator = (FIRST_DESCRIPTOR_SECTOR + 2) * SECTOR;
  image[terminator] = 255;
  image.set(ascii("CD001"), terminator + 1);
  image[terminator + 6] = 1;

  writePathTable(image, pathTables.primaryL, primaryRoot, true);
  writePathTable(image, pathTables.primaryM, primaryRoot, false);
  writePathTable(image, pathTables.jolietL, jolietRoot, true);
  writePathTable(image, pathTables.jolietM, jolietRoot, false);

  const tree = (names: Uint8Array[]): TreeEntry[] =>
    names.map((identifier, i) => ({ identifier, sector: extents[i]?.sector ?? 0, size: extents[i]?.size ?? 0 }));
  writeDirectory(image, primaryRoot, primaryRootSectors, tree(primaryNames));
  writeDirectory(image, jolietRoot, jolietRootSectors, tree(jolietNames));
  for (const [i, content] of contents.entries()) image.set(content, (extents[i]?.sector ?? 0) * SECTOR);
  return image;
}
