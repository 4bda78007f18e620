export DISTRO_NAME=debian
export DIB_DISTRO_FAMILY=debian
export DIB_RELEASE=${DIB_RELEASE:-bookworm}
export DIB_INIT_SYSTEM=systemd
# The kernel's postinst builds no initramfs during the install phases; the vm element
# builds it once, after every package is in (DIB builds it twice).
export INITRD=No
