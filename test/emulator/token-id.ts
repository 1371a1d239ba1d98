// Proxmox's rule for API token ids, `user@realm!tokenname`: pve-access-control
// PVE/AccessControl.pm $token_full_regex = user_regex@realm_regex!token_subid_regex, with
// $token_subid_regex = $realm_regex = [A-Za-z][A-Za-z0-9\.\-_]+ and $user_regex = [^\s:/]+
// (PVE/Auth/Plugin.pm). A token name therefore has two characters at least.
// The emulator checks token ids with it, and starbase's spec-schema.json spells the same rule
// in proxmox.tokenId's pattern; test/emulator/token-id.test.ts checks both against each other
// and the token name against the `tokenid` pattern of the PVE API schema.

export const PVE_USER_PATTERN = "[^\\s:/]+";
export const PVE_REALM_PATTERN = "[A-Za-z][A-Za-z0-9\\.\\-_]+";
export const PVE_TOKEN_NAME_PATTERN = "[A-Za-z][A-Za-z0-9\\.\\-_]+";

/** The whole token id, anchored: what spec-schema.json's proxmox.tokenId pattern must be. */
export const PVE_TOKEN_ID_PATTERN = `^${PVE_USER_PATTERN}@${PVE_REALM_PATTERN}!${PVE_TOKEN_NAME_PATTERN}$`;

const TOKEN_ID = new RegExp(PVE_TOKEN_ID_PATTERN, "u");

/** PVE::AccessControl::split_tokenid succeeds (it dies otherwise, which fails the authentication). */
export function isPveTokenId(tokenId: string): boolean {
  return TOKEN_ID.test(tokenId);
}
