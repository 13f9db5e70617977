//FILES provision/Vagrantfile=../../provision/Vagrantfile
//FILES provision/plan.rb=../../provision/plan.rb
//FILES provision/upload.rb=../../provision/upload.rb
//FILES provision/unpack-and-run.sh=../../provision/unpack-and-run.sh
//FILES provision/machine.sh=../../provision/machine.sh
//FILES provision/server.sh=../../provision/server.sh
//FILES provision/agent.sh=../../provision/agent.sh
//FILES provision/k3s-common.sh=../../provision/k3s-common.sh

/**
 * The provisioning files k3s-up carries in its build (the //FILES above, settings.yaml with Settings.java) and
 * writes into each cluster's folder: ClusterFolder.PROVISIONING names them, and a test checks the two agree.
 */
final class ProvisioningFiles {
    private ProvisioningFiles() {}
}
