/**
 * Asks for a secret on the terminal without showing it, as `ssh` asks for a key's passphrase: the prompt on stderr,
 * the answer read from stdin in raw mode (no echo), up to Enter. Backspace and Ctrl-U edit; Ctrl-C cancels (raw mode
 * turns the key into a byte instead of SIGINT, so the command fails with `VM_E_APP_SHUTTING_DOWN`, exit status 1).
 */
import { VhdError } from "../errors";

/** True when a prompt can be answered: stdin is a terminal. */
export function canPrompt(): boolean {
  return process.stdin.isTTY === true;
}

/**
 * The line typed after `prompt`, never echoed.
 * @throws `VM_E_APP_SHUTTING_DOWN` on Ctrl-C or when stdin ends first.
 */
export function promptHidden(prompt: string): Promise<string> {
  const input = process.stdin;
  // Echo off before the prompt shows: an answer typed (or sent) the moment it appears must not be echoed.
  input.setRawMode(true);
  process.stderr.write(prompt);
  input.setEncoding("utf8");
  input.resume();
  return new Promise((resolve, reject) => {
    let typed = "";
    const finish = (): void => {
      input.off("data", onData);
      input.off("end", onEnd);
      input.setRawMode(false);
      input.pause();
      process.stderr.write("\n");
    };
    const cancelled = (why: string): void => {
      finish();
      reject(new VhdError("VM_E_APP_SHUTTING_DOWN", `cancelled at the prompt (${why})`));
    };
    const onEnd = (): void => cancelled("stdin ended");
    const onData = (chunk: string): void => {
      for (const character of chunk) {
        if (character === "\r" || character === "\n") {
          finish();
          resolve(typed);
          return;
        }
        if (character === "\u0003") {
          cancelled("Ctrl-C");
          return;
        }
        if (character === "\u007f" || character === "\b") typed = typed.slice(0, -1);
        else if (character === "\u0015") typed = "";
        else typed += character;
      }
    };
    input.on("data", onData);
    input.once("end", onEnd);
  });
}
