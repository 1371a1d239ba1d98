// Parameter validation with the semantics of pve-common's PVE::JSONSchema (check_prop,
// check_object, check_type, check_format, parse_property_string), including its error texts.
import { formatFromTypetext, namedPropertyFormats, namedValidator, splitList, type SubSchema } from "./formats.ts";

export interface PropertySchema extends SubSchema {
  typetext?: string;
  /** First and last index of an indexed option such as `scsi[n]` (pve-schema/README.md). */
  indexRange?: [number, number];
  items?: PropertySchema;
  properties?: Record<string, PropertySchema>;
  additionalProperties?: number | boolean;
}

export type ParamErrors = Record<string, string>;

function addError(errors: ParamErrors, path: string, message: string): void {
  const key = path === "" ? "_root" : path;
  // Perl joins repeated errors with a literal backslash-n (single-quoted '\n').
  errors[key] = errors[key] === undefined ? message : `${errors[key]}\\n${message}`;
}

const perlRegexCache = new Map<string, RegExp>();

/** Compiles a schema pattern the way PVE applies it: `m/^$pattern$/` on Perl syntax. */
export function perlPattern(pattern: string): RegExp {
  let compiled = perlRegexCache.get(pattern);
  if (!compiled) {
    const js = pattern.replace(/\(\?\^:/g, "(?:").replace(/\{,(\d+)\}/g, "{0,$1}");
    compiled = new RegExp(`^${js}$`);
    perlRegexCache.set(pattern, compiled);
  }
  return compiled;
}

const isNumber = (text: string): boolean => /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.test(text);
const isInteger = (text: string): boolean => /^[+-]?\d+$/.test(text);

function perlRefName(value: unknown): string | undefined {
  if (Array.isArray(value)) return "ARRAY";
  if (typeof value === "boolean") return "JSON::PP::Boolean";
  if (typeof value === "object" && value !== null) return "HASH";
  return undefined;
}

function scalarText(value: unknown): string {
  return typeof value === "string" ? value : String(value);
}

function checkType(path: string, type: string | undefined, value: unknown, errors: ParamErrors): boolean {
  if (!type || type === "any") return true;
  const ref = perlRefName(value);
  if (type === "array" || type === "object") {
    const ok = type === "array" ? ref === "ARRAY" : ref === "HASH";
    if (!ok) addError(errors, path, `type check ('${type}') failed`);
    return ok;
  }
  if (ref) {
    if (type === "boolean" && ref === "JSON::PP::Boolean") return true;
    addError(errors, path, `type check ('${type}') failed - got ${ref}`);
    return false;
  }
  const text = scalarText(value);
  const ok =
    type === "boolean" ? text === "1" || text === "0" : type === "integer" ? isInteger(text) : type === "number" ? isNumber(text) : true;
  if (!ok) addError(errors, path, `type check ('${type}') failed - got '${text}'`);
  return ok;
}

export class FormatError extends Error {
  constructor(
    message: string,
    readonly errors?: ParamErrors,
  ) {
    super(message);
  }

  /** PVE::Exception stringification: message, then one "key: error" line per parameter error. */
  render(): string {
    const lines = Object.keys(this.errors ?? {})
      .sort()
      .map((key) => `${key}: ${this.errors?.[key]}\n`);
    return this.message + lines.join("");
  }
}

function parseBoolean(text: string): string | undefined {
  if (/^(1|on|yes|true)$/i.test(text)) return "1";
  if (/^(0|off|no|false)$/i.test(text)) return "0";
  return undefined;
}

export function parsePropertyString(format: Record<string, SubSchema>, data: string, path: string): Record<string, string> {
  const result: Record<string, string> = {};
  let defaultKey: string | undefined;
  for (const part of data.split(",")) {
    if (/^\s*$/.test(part)) continue;
    const keyed = /^([^=]+)=(.+)$/s.exec(part);
    if (keyed) {
      let key = keyed[1] ?? "";
      let value = keyed[2] ?? "";
      if (result[key] !== undefined) throw new FormatError(`duplicate key in comma-separated list property: ${key}\n`);
      let schema = format[key];
      if (schema?.alias) {
        if (schema.keyAlias) {
          if (result[schema.keyAlias] !== undefined) throw new FormatError(`key alias '${schema.keyAlias}' is already defined\n`);
          result[schema.keyAlias] = key;
        }
        key = schema.alias;
        schema = format[key];
      }
      if (!schema) throw new FormatError(`invalid key in comma-separated list property: ${key}\n`);
      if (schema.type === "boolean") value = parseBoolean(value) ?? value;
      result[key] = value;
    } else if (!part.includes("=")) {
      if (defaultKey !== undefined) throw new FormatError(`duplicate key in comma-separated list property: ${defaultKey}\n`);
      defaultKey = Object.keys(format).find((key) => format[key]?.default_key);
      if (defaultKey === undefined) throw new FormatError("value without key, but schema does not define a default key\n");
      if (result[defaultKey] !== undefined) throw new FormatError(`duplicate key in comma-separated list property: ${defaultKey}\n`);
      result[defaultKey] = part;
    } else {
      throw new FormatError("missing key in comma-separated list property\n");
    }
  }
  const errors: ParamErrors = {};
  checkObject(path, format, result, 0, errors);
  if (Object.keys(errors).length > 0) throw new FormatError("format error\n", errors);
  return result;
}

/** Returns the die text of a failed format check, or undefined. */
function formatFailure(format: string | Record<string, SubSchema>, value: string, path: string, typetext?: string): string | undefined {
  try {
    if (typeof format === "object") {
      parsePropertyString(format, value, path);
      return undefined;
    }
    const match = /^(.*?)(?:-(list|opt))?$/.exec(format);
    const name = match?.[1] ?? format;
    const kind = match?.[2];
    const hashFormat = namedPropertyFormats[name] ?? (kind ? undefined : namedHashFromTypetext(name, typetext));
    if (hashFormat) {
      parsePropertyString(hashFormat, value, path);
      return undefined;
    }
    const validator = namedValidator(name);
    if (!validator) return undefined;
    if (kind === "list") return splitList(value).map(validator).find((message) => message !== undefined);
    if (kind === "opt" && value === "") return undefined;
    return validator(value);
  } catch (error) {
    if (error instanceof FormatError) return error.render();
    throw error;
  }
}

function namedHashFromTypetext(name: string, typetext: string | undefined): Record<string, SubSchema> | undefined {
  return namedValidator(name) ? undefined : formatFromTypetext(typetext);
}

export function checkProp(value: unknown, schema: PropertySchema, path: string, errors: ParamErrors): void {
  if (value === undefined || value === null) {
    if (schema.type === "null") return;
    if (!schema.optional && !schema.alias) addError(errors, path, "property is missing and it is not optional");
    return;
  }
  if (!checkType(path, schema.type, value, errors)) return;

  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, index) => checkProp(item, schema.items as PropertySchema, `${path}[${index}]`, errors));
    return;
  }
  if (typeof value === "object") {
    if (schema.properties || schema.additionalProperties) {
      checkObject(path, schema.properties ?? {}, value as Record<string, unknown>, schema.additionalProperties, errors);
    }
    return;
  }
  if (typeof value === "boolean") return;

  const text = scalarText(value);
  if (schema.format) {
    const failure = formatFailure(schema.format, text, path, schema.typetext);
    if (failure !== undefined) {
      addError(errors, path, `invalid format - ${failure}`);
      return;
    }
  }
  if (schema.pattern && !perlPattern(schema.pattern).test(text)) {
    addError(errors, path, "value does not match the regex pattern");
    return;
  }
  if (schema.maxLength !== undefined && text.length > schema.maxLength) {
    addError(errors, path, `value may only be ${schema.maxLength} characters long`);
    return;
  }
  if (schema.minLength !== undefined && text.length < schema.minLength) {
    addError(errors, path, `value must be at least ${schema.minLength} characters long`);
    return;
  }
  if (isNumber(text)) {
    if (schema.maximum !== undefined && Number(text) > Number(schema.maximum)) {
      addError(errors, path, `value must have a maximum value of ${schema.maximum}`);
      return;
    }
    if (schema.minimum !== undefined && Number(text) < Number(schema.minimum)) {
      addError(errors, path, `value must have a minimum value of ${schema.minimum}`);
      return;
    }
  }
  if (schema.enum && !schema.enum.includes(text)) {
    addError(errors, path, `value '${text}' does not have a value in the enumeration '${schema.enum.join(", ")}'`);
  }
}

export function checkObject(
  path: string,
  schema: Record<string, PropertySchema>,
  value: Record<string, unknown>,
  additionalProperties: number | boolean | undefined,
  errors: ParamErrors,
): void {
  for (const key of Object.keys(schema)) {
    checkProp(value[key], schema[key] as PropertySchema, path ? `${path}.${key}` : key, errors);
  }
  for (const key of Object.keys(value)) {
    const subschema = schema[key];
    if (subschema) {
      const requires = subschema.requires;
      if (requires && (value[requires] === undefined || value[requires] === null)) {
        addError(errors, path ? `${path}.${requires}` : requires, `missing property - '${path ? `${path}.${key}` : key}' requires this property`);
      }
      continue;
    }
    if (additionalProperties !== undefined && !additionalProperties) {
      addError(errors, path ? `${path}.${key}` : key, "property is not defined in schema and the schema does not allow additional properties");
    }
  }
}
