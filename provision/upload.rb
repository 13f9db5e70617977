# One upload per machine: everything its provisioning reads, gathered on the host in a folder of its own (mode 700)
# that a single file provisioner sends. One provisioner per file cost each its own guest commands and scp (8-9 s for
# three under QEMU); Vagrant's upload of a folder uses one connection.
require "fileutils"

module K3sVagrantUpload
  # copies: {name in the folder => host file}, copied with the file's own mode (tokens and proxy.env stay 600:
  # Vagrant's upload keeps it). links: {name => host file}, linked: the air-gap files are large, may live on another
  # file system than the folder, and Vagrant's upload reads through a link. Whatever else the folder holds goes, so
  # a machine never gets a secret or a file its settings no longer give it. Parallel vagrant processes build the same
  # folder from the same settings: each entry is made beside it and renamed into place.
  def self.stage(folder, copies, links)
    spare = File.dirname(folder)
    FileUtils.mkdir_p(spare, mode: 0o700)
    FileUtils.mkdir_p(folder, mode: 0o700)
    File.chmod(0o700, folder)
    copies.merge(links).each_key { |name| FileUtils.mkdir_p(File.join(folder, File.dirname(name)), mode: 0o700) }
    copies.each do |name, source|
      replace(spare, File.join(folder, name)) do |temp|
        File.open(temp, File::WRONLY | File::CREAT | File::EXCL, File.stat(source).mode & 0o777) do |f|
          f.write(File.binread(source))
        end
      end
    end
    links.each { |name, source| replace(spare, File.join(folder, name)) { |temp| File.symlink(source, temp) } }
    prune(folder, copies.keys + links.keys)
    folder
  end

  # The folders of machines the settings no longer have (fewer workers): they hold a token.
  def self.forget_others(upload_dir, names)
    return unless File.directory?(upload_dir)
    (Dir.children(upload_dir).reject { |e| e.start_with?(".") } - names).each do |gone|
      FileUtils.rm_rf(File.join(upload_dir, gone))
    end
  end

  def self.replace(spare, target)
    temp = File.join(spare, ".#{File.basename(target)}.#{Process.pid}.#{Thread.current.object_id}")
    FileUtils.rm_f(temp)
    yield temp
    File.rename(temp, target)
  end

  def self.prune(folder, wanted)
    entries = Dir.glob("**/*", File::FNM_DOTMATCH, base: folder).reject { |e| File.basename(e).match?(/\A\.\.?\z/) }
    entries.sort_by { |e| -e.length }.each do |entry|
      path = File.join(folder, entry)
      if File.directory?(path) && !File.symlink?(path)
        Dir.rmdir(path) if Dir.empty?(path) && wanted.none? { |name| name.start_with?("#{entry}/") }
      elsif !wanted.include?(entry)
        FileUtils.rm_f(path)
      end
    end
  end
end
