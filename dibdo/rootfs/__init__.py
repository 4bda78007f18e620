"""Root filesystems: mounts, overlay layers, the chroot and the bootstrap."""
