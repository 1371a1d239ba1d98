import Mustache from "mustache";

/**
 * Lays a view out with a mustache template. Mustache HTML-escapes `{{ }}` by default, which would
 * corrupt configuration files (`&`, `<`, quotes), so escaping is switched off for every render.
 */
export function renderTemplate(template: string, view: object): string {
  return Mustache.render(template, view, {}, { escape: (value: string) => value });
}
