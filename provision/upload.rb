# One upload per machine: everything its provisioning reads, packed on the host into one file: the script that
# unpacks and runs it (unpack-and-run.sh) with a tar archive appended, which Vagrant's one shell provisioner sends
# and runs. Vagrant's upload of a folder runs a guest command (`mkdir -p`) for every entry before its scp, 0.4 s each
# under QEMU (7-8 s for a handful of files), and every provisioner adds its own guest commands: one file, one run.
# The archive holds only what the machine's role needs, so machines of a role share it: it is named after its role
# and a digest of what it holds, made once and reused while nothing in it changes (the air-gap files are large).
require "digest"
require "fileutils"
require "rubygems/package"

module K3sVagrantUpload
  # script: the host file the archive is appended to (its last line the marker it looks for). entries: {name in the
  # archive => host file}; each keeps only its owner's permissions (tokens and proxy.env 600, scripts and binaries
  # 700), owned by root where the guest unpacks it. Returns the packed file's path (mode 600, folder 700).
  def self.pack(folder, role, script, entries)
    FileUtils.mkdir_p(folder, mode: 0o700)
    File.chmod(0o700, folder)
    sorted = entries.sort.to_h
    packed = File.join(folder, "#{role}-#{digest({ "" => script }.merge(sorted))}.sh")
    return packed if File.file?(packed)

    # parallel vagrant processes pack the same file: each writes its own and renames it into place
    temp = File.join(folder, ".#{File.basename(packed)}.#{Process.pid}.#{Thread.current.object_id}")
    File.open(temp, File::WRONLY | File::CREAT | File::EXCL, 0o600) do |io|
      io.write(File.binread(script))
      Gem::Package::TarWriter.new(io) do |tar|
        dirs = sorted.keys.map { |name| File.dirname(name) }.uniq.reject { |dir| dir == "." }
        dirs.each { |dir| tar.mkdir(dir, 0o700) }
        sorted.each do |name, source|
          tar.add_file_simple(name, File.stat(source).mode & 0o700, File.size(source)) do |out|
            File.open(source, "rb") { |file| IO.copy_stream(file, out) }
          end
        end
      end
    end
    File.rename(temp, packed)
    packed
  end

  # What a packed file holds, short: each name and mode with the file's bytes, or, for the large air-gap files (not
  # read on each vagrant command), its size, time and inode. A file written anew with the same bytes (the proxy file,
  # at each run) keeps the packed file.
  def self.digest(entries)
    sha = Digest::SHA256.new
    entries.each do |name, source|
      stat = File.stat(source)
      sha << [name, stat.mode & 0o700, stat.size].join("\0") << "\0"
      sha << (stat.size < 1 << 20 ? Digest::SHA256.file(source).digest : [stat.mtime.to_r, stat.ino].join("\0"))
    end
    sha.hexdigest[0, 16]
  end

  # Packed files of other contents or roles (a token renewed, a proxy unset, a role no machine has any more) go: they
  # may hold a secret. Entries being written by a parallel run start with "." and stay.
  def self.forget_others(folder, keep)
    return unless File.directory?(folder)
    (Dir.children(folder).reject { |entry| entry.start_with?(".") } - keep.map { |packed| File.basename(packed) })
      .each { |gone| FileUtils.rm_rf(File.join(folder, gone)) }
  end
end
