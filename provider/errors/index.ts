export { ERROR_TABLE, ERROR_NAMES, type ErrorName, formatHresult } from "./codes";
export { VhdError, type VhdErrorInit, type ErrorParameter, isVhdError, asVhdError } from "./vhd-error";
