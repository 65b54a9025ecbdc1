import { describeStorageConformance } from "../conformance";
import { sshFixture, useSshd } from "./ssh-fixture";

const sshd = useSshd();

describeStorageConformance("ssh (OpenSSH on loopback)", async () => sshFixture(sshd.server()), sshd.unavailable);
