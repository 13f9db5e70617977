# One upload per machine: everything its provisioning reads, packed on the host into one tar file (mode 600, in a
# folder of mode 700) that a single file provisioner sends. Vagrant's upload of a folder runs a guest command (`mkdir
# -p`) for every entry before its scp, 0.4 s each under QEMU: 7-8 s for a handful of files; one file is one scp.
# The archive holds only what the machine's role needs, so machines of a role share it: it is named after its role
# and a digest of what it holds, made once and reused while nothing in it changes (the air-gap files are large).
require "digest"
require "fileutils"
require "rubygems/package"

module K3sVagrantUpload
  # entries: {name in the archive => host file}. Each file keeps only its owner's permissions (tokens and proxy.env
  # 600, scripts and binaries 700), owned by root where the guest unpacks it. Returns the archive's path.
  def self.pack(folder, role, entries)
    FileUtils.mkdir_p(folder, mode: 0o700)
    File.chmod(0o700, folder)
    sorted = entries.sort.to_h
    tar = File.join(folder, "#{role}-#{digest(sorted)}.tar")
    return tar if File.file?(tar)

    # parallel vagrant processes pack the same archive: each writes its own and renames it into place
    temp = File.join(folder, ".#{File.basename(tar)}.#{Process.pid}.#{Thread.current.object_id}")
    File.open(temp, File::WRONLY | File::CREAT | File::EXCL, 0o600) do |io|
      Gem::Package::TarWriter.new(io) do |tar_writer|
        sorted.keys.map { |name| File.dirname(name) }.uniq.reject { |dir| dir == "." }.each do |dir|
          tar_writer.mkdir(dir, 0o700)
        end
        sorted.each do |name, source|
          tar_writer.add_file_simple(name, File.stat(source).mode & 0o700, File.size(source)) do |out|
            File.open(source, "rb") { |file| IO.copy_stream(file, out) }
          end
        end
      end
    end
    File.rename(temp, tar)
    tar
  end

  # What an archive holds, short: each name and mode with the file's bytes, or, for the large air-gap files (not read
  # on each vagrant command), its size, time and inode. A file written anew with the same bytes (the proxy file, at
  # each run) keeps the archive.
  def self.digest(entries)
    sha = Digest::SHA256.new
    entries.each do |name, source|
      stat = File.stat(source)
      sha << [name, stat.mode & 0o700, stat.size].join("\0") << "\0"
      sha << (stat.size < 1 << 20 ? Digest::SHA256.file(source).digest : [stat.mtime.to_r, stat.ino].join("\0"))
    end
    sha.hexdigest[0, 16]
  end

  # Archives of other contents or roles (a token renewed, a proxy unset, a role no machine has any more) go: they
  # may hold a secret. Entries being written by a parallel run start with "." and stay.
  def self.forget_others(folder, keep)
    return unless File.directory?(folder)
    (Dir.children(folder).reject { |entry| entry.start_with?(".") } - keep.map { |tar| File.basename(tar) })
      .each { |gone| FileUtils.rm_rf(File.join(folder, gone)) }
  end
end
