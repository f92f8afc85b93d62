"""Attribution: ATT&CK knowledge, actor playbooks, campaigns."""
