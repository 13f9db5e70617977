# k3s-vagrant: the interpreter of settings.yaml for the Vagrantfile (plain Ruby, no Vagrant needed). It holds
# no cluster rule: every default, limit, message and count is in settings.yaml; scripts/lib/Settings.java and
# Plan.java read the same table for k3s-up.
require "ipaddr"
require "resolv"
require "socket"
require "yaml"

module K3sVagrantPlan
  PREFIX = "K3S_VAGRANT_".freeze

  # A setting refused: the message names it and the fix.
  class Refused < StandardError; end

  def self.table(path = File.join(__dir__, "settings.yaml"))
    YAML.safe_load(File.read(path))
  end

  # Fills {name} in a message; the setting is shown as the Vagrantfile's users give it, values quoted.
  def self.say(template, words)
    template.gsub(/\{(\w+)\}/) { words.fetch(Regexp.last_match(1).to_sym, "{#{Regexp.last_match(1)}}").to_s }
  end

  def self.shown(value)
    (value.length > 80 ? "#{value[0, 80]}..." : value).inspect
  end

  def self.login_default(rule, user)
    login = user.to_s.downcase.gsub(/[^#{rule["keep"][1..-2]}]/, "")
    ok = !login.empty? && !rule["refused"].include?(login) && login[0] =~ /\A#{rule["first"]}\z/
    ok ? login : rule["fallback"]
  end

  def self.rules(table, setting)
    return setting["rules"] || [] unless setting["rules_of"]
    table["settings"].find { |other| other["env"] == setting["rules_of"] }["rules"]
  end

  # The settings (env name less its prefix => value) from the environment, then cluster.env, then the defaults,
  # each checked by its rules. provider: the one Vagrant will use, or nil when not known.
  def self.settings(table, env, recorded, provider: nil, dir: __dir__)
    user = env["USER"] || env["USERNAME"] || (require("etc") && Etc.getlogin)
    table["settings"].reject { |s| s["only"] }.each_with_object({}) do |setting, values|
      key = PREFIX + setting["env"]
      default = setting["default_from_login"] ? login_default(setting["default_from_login"], user) : setting["default"]
      value = env.fetch(key) { recorded.fetch(key, default) } || default
      value = File.expand_path(value, dir) if key.end_with?("_FILE")
      rules(table, setting).each { |rule| check(rule, key, value, provider) } unless value.empty?
      values[setting["env"]] = value
    end
  end

  # words: more of the message's words; a reject pattern's named groups add theirs.
  def self.check(rule, key, value, provider, **words)
    return if rule["provider"] && rule["provider"] != provider
    ok = if rule["match"] then value.match?(/\A(?:#{rule["match"]})\z/)
         elsif rule["reject"]
           found = value.match(/#{rule["reject"]}/)
           words.merge!(found.named_captures.transform_keys(&:to_sym)) if found
           found.nil?
         elsif rule["ipv4"] then value.match?(Resolv::IPv4::Regex)
         elsif rule["one_of"] then rule["one_of"].include?(value)
         elsif rule["min"] then value.to_i >= rule["min"]
         elsif rule["networks"] then rule["networks"].any? { |net| IPAddr.new(net).include?(IPAddr.new(value)) }
         elsif rule["files"]
           missing = rule["files"].find { |file| !File.file?(File.join(value, file)) }
           missing.nil?
         end
    return if ok
    raise Refused, say(rule["message"], setting: key, value: shown(value), file: missing, **words)
  end

  # The host's proxy variables (settings.yaml's proxy), each checked: the URLs by the name the machines get
  # ({"HTTPS_PROXY" => url}), and the NO_PROXY entries.
  def self.proxy(table, env)
    rules = table["proxy"]
    set = ->(names) { names.find { |name| !env[name].to_s.strip.empty? } }
    urls = rules["urls"].each_with_object({}) do |(name, names), found|
      next unless (variable = set.call(names))
      found[name] = env[variable].strip
      rules["url_rules"].each { |rule| check(rule, variable, found[name], nil, fix: rules["fix"]) }
    end
    no_proxy = rules["no_proxy"]
    variable = set.call(no_proxy["read"])
    entries = variable ? env[variable].split(no_proxy["separator"]).map(&:strip).reject(&:empty?) : []
    entries.each { |entry| rules["entry_rules"].each { |rule| check(rule, variable, entry, nil) } }
    [urls, entries]
  end

  # The machines, group by group: name, role, address, memory, flags, and "init"/"join" for HA servers.
  def self.machines(table, s)
    groups = table["groups"].map do |group|
      first = IPAddr.new(s[group["address"]]).to_i
      count = s[group["count"]].to_i
      ips = (0...count).map { |i| IPAddr.new(first + i * group["step"], Socket::AF_INET).to_s }
      low, high = table["addresses"]["room"]
      network = s[group["address"]].split(".")[0, 3]
      if ips.drop(1).any? { |ip| ip.split(".")[0, 3] != network || !ip.split(".").last.to_i.between?(low, high) }
        raise Refused, say(group["no_room"], setting: PREFIX + group["address"], value: s[group["address"]],
                                             count: count)
      end
      [group, ips]
    end
    check_addresses(table["addresses"], groups, s)
    groups.flat_map do |group, ips|
      ips.each_with_index.map do |ip, i|
        ha = group["role"] == "server" && ips.size > 1 ? (i.zero? ? "init" : "join") : ""
        { name: "#{s["LOGIN"]}#{group["suffix"]}#{i.zero? ? "" : i + 1}", role: group["role"], ip: ip,
          memory: s[group["memory"]], flags: s[group["flags"]], ha: ha }
      end
    end
  end

  def self.check_addresses(rules, groups, s)
    (first, first_ips), (second, second_ips) = groups
    a = PREFIX + first["address"]
    b = PREFIX + second["address"]
    va = s[first["address"]]
    vb = s[second["address"]]
    unless second_ips.empty?
      raise Refused, say(rules["same"], setting: a, other: b, value: va) if va == vb
      if va.split(".")[0, 3] != vb.split(".")[0, 3]
        raise Refused, say(rules["one_network"], setting: a, value: va, other: b, other_value: vb)
      end
    end
    groups.each do |group, ips|
      ips.each do |ip|
        last = ip.split(".").last
        next unless rules["reserved_last"].include?(last)
        raise Refused, say(rules["reserved"], ip: ip, setting: PREFIX + group["address"], last: last)
      end
    end
    twice = first_ips & second_ips
    return if twice.empty?
    raise Refused, say(rules["twice"], ip: twice.first, setting: a, value: va, other: b, other_value: vb)
  end

  # The API port from the server flags, as K3s's flag parser reads them.
  def self.api_port(table, s)
    rule = table["api_port"]
    flags = s[rule["flags"]]
    port = rule["default"].to_s
    words = flags.split
    words.each_with_index do |word, i|
      if word =~ /\A--?#{rule["flag"]}=(.*)\z/ then value = Regexp.last_match(1)
      elsif word =~ /\A--?#{rule["flag"]}\z/
        value = words[i + 1]
        raise Refused, say(rule["no_value"], setting: PREFIX + rule["flags"], value: shown(flags)) if value.nil?
      else next
      end
      unless value.match?(/\A(?:#{rule["match"]})\z/) && value.to_i <= rule["max"]
        raise Refused, say(rule["bad"], setting: PREFIX + rule["flags"], value: shown(flags), port: shown(value))
      end
      port = value
    end
    port
  end

  # A libvirt machine's CPUs, driver and CPU model: k3s-up's machines and the benchmark's baselines alike.
  def self.libvirt(lv, s)
    lv.cpus = s["CPUS"].to_i
    lv.driver = s["LIBVIRT_DRIVER"]
    return if s["LIBVIRT_CPU_MODEL"].empty?

    lv.cpu_mode = "custom"
    lv.cpu_model = s["LIBVIRT_CPU_MODEL"]
  end
end
