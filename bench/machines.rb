# The machines of bench/floor and bench/part1: k3s-up's own (provision/'s settings and plan, so box, CPUs,
# memory and addresses cannot drift from what k3s-up makes), libvirt only (bench.sh's provider).
require_relative "../provision/plan"

module BenchMachines
  PLAN = K3sVagrantPlan.table
  SETTINGS = K3sVagrantPlan.settings(PLAN, ENV, {}, provider: "libvirt").freeze

  # Sets the box and the provider, then yields each machine's plan and its Vagrant node.
  def self.define(config)
    s = SETTINGS
    config.vm.box = s["BOX"].empty? ? PLAN["boxes"]["libvirt"] : s["BOX"]
    config.vm.synced_folder ".", "/vagrant", disabled: true
    config.vm.provider("libvirt") { |lv| K3sVagrantPlan.libvirt(lv, s) }
    K3sVagrantPlan.machines(PLAN, s).each do |machine|
      config.vm.define machine[:name] do |node|
        node.vm.provider("libvirt") { |lv| lv.memory = machine[:memory].to_i }
        yield machine, node
      end
    end
  end
end
