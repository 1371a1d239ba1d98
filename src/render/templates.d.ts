// Templates are imported as text (`with { type: "text" }`) so that `bun build --compile` embeds them.
declare module "*.mustache" {
  const text: string;
  export default text;
}
